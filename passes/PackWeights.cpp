//===- PackWeights.cpp - Re-lay out constant weights in panels -*- C++ -*-===//
//
// attn-pack-weights: the register tiles of a product scheduled with kind
// `panels` sweep its right operand one panel of columns at a time. A
// constant right operand compiled into the code is stored that way: its
// columns in panels of the schedule's width, [panel][k][column] (the last
// panel padded with zeros), or for bfloat16 products [panel][k / 2]
// [column][k % 2] rounded to bfloat16 (each pair of k is one vdpbf16ps
// step), or for 8-bit integer products [panel][k / 4][column][k % 4] of i8
// (each quad of k is one vpdpbusd step) and a last quad row of column sums. The
// product then reads `attn.from_panels` of the new constant, which the emitter
// reads in place. A constant shared by several products of the same panels is
// packed once.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Dialect/Attn/IR/ConstantData.h"
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/MathExtras.h"

#include <cstring>
#include <map>
#include <tuple>

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNPACKWEIGHTS
#include "attnc/Passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Element `p` of float32, float16 or bfloat16 data, as a float.
float floatAt(const char *p, Type element) {
  if (element.isF32()) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  uint16_t half;
  std::memcpy(&half, p, 2);
  if (element.isBF16()) {
    uint32_t bits = static_cast<uint32_t>(half) << 16;
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  }
  return llvm::APFloat(llvm::APFloat::IEEEhalf(), llvm::APInt(16, half))
      .convertToFloat();
}

/// `value` rounded to the nearest bfloat16, ties to even; NaN stays NaN.
uint16_t toBFloat16Bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return 0x7fc0;
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

/// The panels of the [k, n] matrix `data`, `width` columns each.
std::vector<char> packPanels(const ConstantBytes &data, Type element, int64_t k,
                             int64_t n, int64_t width, bool bf16) {
  int64_t panels = llvm::divideCeil(n, width);
  if (!bf16) {
    int64_t bytes = data.elementBytes;
    std::vector<char> out(panels * k * width * bytes, 0);
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t r = 0; r < k; ++r) {
        int64_t first = p * width, columns = std::min(width, n - first);
        char *row = &out[(p * k + r) * width * bytes];
        if (!data.splat) {
          // A panel's row is a contiguous run of the matrix's row.
          std::memcpy(row, data.at(r * n + first), columns * bytes);
          continue;
        }
        for (int64_t c = 0; c < columns; ++c)
          std::memcpy(row + c * bytes, data.at(0), bytes);
      }
    return out;
  }
  int64_t pairs = llvm::divideCeil(k, 2);
  std::vector<char> out(panels * pairs * width * 2 * sizeof(uint16_t));
  auto *dst = reinterpret_cast<uint16_t *>(out.data());
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t q = 0; q < pairs; ++q)
      for (int64_t c = 0; c < width; ++c)
        for (int64_t h = 0; h < 2; ++h) {
          int64_t r = 2 * q + h, column = p * width + c;
          *dst++ =
              r < k && column < n
                  ? toBFloat16Bits(floatAt(data.at(r * n + column), element))
                  : 0;
        }
  return out;
}

/// The panels of the [k, n] 8-bit matrix `data` for 4-way integer dot
/// products (vpdpbusd): [panel][k / 4][column][k % 4] of i8, zero past the
/// ends; u8 elements are stored less 128 (the emitter adds 128 back to the
/// zero point). One more quad row per panel holds each column's sum of the
/// stored values as a little-endian i32 (the zero-point term).
std::vector<char> packQuadPanels(const ConstantBytes &data, bool isUnsigned,
                                 int64_t k, int64_t n, int64_t width) {
  int64_t panels = llvm::divideCeil(n, width);
  int64_t quads = llvm::divideCeil(k, 4);
  std::vector<char> out(panels * (quads + 1) * width * 4, 0);
  for (int64_t p = 0; p < panels; ++p) {
    char *panel = &out[p * (quads + 1) * width * 4];
    for (int64_t c = 0; c < width; ++c) {
      int64_t column = p * width + c;
      int32_t sum = 0;
      for (int64_t r = 0; r < k && column < n; ++r) {
        uint8_t byte = static_cast<uint8_t>(*data.at(r * n + column));
        auto value = static_cast<int8_t>(isUnsigned ? byte - 128 : byte);
        panel[((r / 4) * width + c) * 4 + r % 4] = static_cast<char>(value);
        sum += value;
      }
      auto bits = static_cast<uint32_t>(sum);
      for (int h = 0; h < 4; ++h)
        panel[(quads * width + c) * 4 + h] =
            static_cast<char>((bits >> (8 * h)) & 0xff);
    }
  }
  return out;
}

struct AttnPackWeightsPass
    : public mlir::attn::impl::AttnPackWeightsBase<AttnPackWeightsPass> {
  using AttnPackWeightsBase::AttnPackWeightsBase;

  void runOnOperation() override {
    // (constant, width, bf16) → its panels, packed once.
    std::map<std::tuple<Operation *, int64_t, bool>, Value> packed;
    SmallVector<Operation *> products;
    getOperation().walk([&](Operation *op) {
      if (isa<MatMulOp, LinearOp>(op))
        products.push_back(op);
    });
    // How many constants hold each resource blob: one whose every holder
    // is replaced can be freed.
    llvm::DenseMap<void *, int> holders;
    auto blobEntry = [](Operation *constant) -> void * {
      auto resource = dyn_cast<DenseResourceElementsAttr>(
          cast<ConstantOp>(constant).getValue());
      return resource ? resource.getRawHandle().getResource() : nullptr;
    };
    if (releaseSources)
      getOperation().walk([&](ConstantOp c) {
        if (void *entry = blobEntry(c))
          ++holders[entry];
      });
    for (Operation *op : products) {
      auto schedule = dyn_cast_or_null<ScheduleAttr>(op->getAttr("schedule"));
      Value rhs = op->getOperand(1);
      if (!schedule || schedule.getKind() != KernelForm::panels ||
          !isCompiledInWeight(rhs, weightsParam))
        continue;
      std::optional<ConstantBytes> data = constantBytes(rhs);
      if (!data)
        continue;
      auto type = cast<RankedTensorType>(rhs.getType());
      int64_t k = type.getDimSize(0), n = type.getDimSize(1);
      int64_t width = schedule.getTiles()[1];
      bool bf16 = schedule.getBf16();
      bool quads = type.getElementType().isInteger(8);
      Operation *constant = rhs.getDefiningOp();
      Value &panels = packed[{constant, width, bf16}];
      if (!panels) {
        OpBuilder b(constant);
        b.setInsertionPointAfter(constant);
        int64_t count = llvm::divideCeil(n, width);
        auto packedType =
            quads  ? RankedTensorType::get({count, (k + 3) / 4 + 1, width, 4},
                                           b.getI8Type())
            : bf16 ? RankedTensorType::get({count, (k + 1) / 2, width, 2},
                                           b.getBF16Type())
                   : RankedTensorType::get({count, k, width},
                                           type.getElementType());
        Value bytes = makeConstant(
            b, constant->getLoc(), packedType,
            quads ? packQuadPanels(*data,
                                   type.getElementType().isUnsignedInteger(), k,
                                   n, width)
                  : packPanels(*data, type.getElementType(), k, n, width, bf16),
            "attn_weight_panels");
        auto from = b.create<FromPanelsOp>(constant->getLoc(), type, bytes);
        // Read in place by the product: never a buffer of its own.
        from->setAttr("schedule",
                      ScheduleAttr::get(b.getContext(), 1, {}, false,
                                        /*inlined=*/true, 0));
        panels = from.getResult();
      }
      op->setOperand(1, panels);
      if (!constant->use_empty())
        continue;
      void *entry = releaseSources ? blobEntry(constant) : nullptr;
      constant->erase();
      if (entry && --holders[entry] == 0)
        static_cast<DialectResourceBlobManager::BlobEntry *>(entry)->setBlob(
            AsmResourceBlob());
    }
  }
};

} // namespace
