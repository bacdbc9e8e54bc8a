//===- DataObjectTest.cpp - Constant data objects, linked and loaded ------===//
//
// Writes a data object of blobs with awkward sizes, links it into a shared
// library with the host's C++ compiler, loads it, and reads every blob back
// through its accessor.
//
//===----------------------------------------------------------------------===//

#include "attnc/Target/DataObject.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <dlfcn.h>
#include <string>
#include <vector>

namespace {

TEST(DataObject, LinksAndReadsBack) {
#if !defined(__x86_64__) && !defined(__aarch64__)
  GTEST_SKIP() << "data objects are written for x86-64 and AArch64";
#endif
  auto cxx = llvm::sys::findProgramByName("c++");
  if (!cxx)
    GTEST_SKIP() << "no C++ compiler to link the shared library";
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("attnc-data", dir));
  std::string object = (dir + "/data.o").str();
  std::string library = (dir + "/libdata.so").str();

  // Sizes around the 64-byte alignment, an empty blob, and one large
  // enough for offsets beyond 16 bits.
  std::vector<size_t> sizes = {1, 63, 64, 65, 0, 3, 200000, 7};
  std::vector<std::vector<char>> contents;
  std::vector<mlir::attn::DataBlob> blobs;
  for (auto [i, size] : llvm::enumerate(sizes)) {
    std::vector<char> bytes(size);
    for (size_t j = 0; j < size; ++j)
      bytes[j] = static_cast<char>((j * 131 + i * 17) & 0xff);
    contents.push_back(std::move(bytes));
  }
  for (auto [i, bytes] : llvm::enumerate(contents))
    blobs.push_back({"attnc_test_blob" + std::to_string(i),
                     llvm::ArrayRef<char>(bytes.data(), bytes.size())});
#if defined(__x86_64__)
  const char *triple = "x86_64-unknown-linux-gnu";
#else
  const char *triple = "aarch64-unknown-linux-gnu";
#endif
  ASSERT_EQ(mlir::attn::writeDataObject(triple, blobs, object), "");

  llvm::StringRef argv[] = {*cxx, "-shared", "-o", library, object};
  std::string message;
  ASSERT_EQ(
      llvm::sys::ExecuteAndWait(*cxx, argv, std::nullopt, {}, 0, 0, &message),
      0)
      << message;
  void *handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  // The accessors are hidden: the library does not export them.
  for (const auto &blob : blobs)
    EXPECT_EQ(dlsym(handle, blob.symbol.c_str()), nullptr);
  dlclose(handle);

  // Exported through a function of the library's own, which calls them.
  std::string caller = (dir + "/caller.c").str();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(caller, ec);
    ASSERT_FALSE(ec);
    for (const auto &blob : blobs)
      os << "const void *" << blob.symbol << "(void);\n";
    os << "const void *attnc_test_get(int i) {\n  switch (i) {\n";
    for (auto [i, blob] : llvm::enumerate(blobs))
      os << "  case " << i << ": return " << blob.symbol << "();\n";
    os << "  }\n  return 0;\n}\n";
  }
  llvm::StringRef argv2[] = {*cxx,    "-x",   "c",  "-shared", "-fPIC", "-o",
                             library, caller, "-x", "none",    object};
  ASSERT_EQ(
      llvm::sys::ExecuteAndWait(*cxx, argv2, std::nullopt, {}, 0, 0, &message),
      0)
      << message;
  handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto get =
      reinterpret_cast<const void *(*)(int)>(dlsym(handle, "attnc_test_get"));
  ASSERT_NE(get, nullptr);
  for (auto [i, bytes] : llvm::enumerate(contents)) {
    const char *p = static_cast<const char *>(get(static_cast<int>(i)));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << "blob " << i;
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), p)) << "blob " << i;
  }
  dlclose(handle);
  llvm::sys::fs::remove_directories(dir);
}

TEST(DataObject, RejectsUnknownTargets) {
  std::vector<char> bytes(8, 1);
  mlir::attn::DataBlob blob{"b", llvm::ArrayRef<char>(bytes)};
  std::string error = mlir::attn::writeDataObject("riscv64-unknown-linux-gnu",
                                                  {blob}, "/nonexistent/x.o");
  EXPECT_NE(error.find("riscv64"), std::string::npos) << error;
}

} // namespace
