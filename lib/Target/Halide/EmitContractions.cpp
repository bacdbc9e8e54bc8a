//===- EmitContractions.cpp - Products, convolutions, einsum ----*- C++ -*-===//
//
// attn.matmul and attn.linear (with its epilogue) in the schedule's form:
// one sum per element (kind = generic) or register tiles over panels of
// columns (kind = panels), the panels read in place where attn-pack-weights
// laid a constant out in them; Conv (2-D) and Einsum as Halide reductions.
//
//===----------------------------------------------------------------------===//

#include "PipelineBuilder.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>
#include <map>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::halide;
using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Var;

//===----------------------------------------------------------------------===//
// Convolution and einsum
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineConv2d(Conv2dOp op,
                                            const std::string &name,
                                            OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  Tensor &w = get(op.getWeight());
  auto wType = op.getWeight().getType();
  if (op.getInput().getType().getRank() != 4 || wType.getRank() != 4)
    return op.emitOpError("expects 4-D input and weight (2-D convolution)");
  if (!wType.hasStaticShape())
    return op.emitOpError("expects a weight of static shape");
  Halide::Type ht = *toHalideType(op.getType().getElementType());
  ArrayRef<int64_t> strides = op.getStrides(), pads = op.getPads(),
                    dil = op.getDilations();
  int group = static_cast<int>(op.getGroup());
  int m = static_cast<int>(wType.getDimSize(0));
  int cPerGroup = static_cast<int>(wType.getDimSize(1));
  int kh = static_cast<int>(wType.getDimSize(2));
  int kw = static_cast<int>(wType.getDimSize(3));
  int sh = static_cast<int>(strides[0]), sw = static_cast<int>(strides[1]);
  int dh = static_cast<int>(dil[0]), dw = static_cast<int>(dil[1]);
  int pt = static_cast<int>(pads[0]), pl = static_cast<int>(pads[1]);
  int pb = static_cast<int>(pads[2]), pr = static_cast<int>(pads[3]);
  Expr oh = (in.shape[2] + pt + pb - dh * (kh - 1) - 1) / sh + 1;
  Expr ow = (in.shape[3] + pl + pr - dw * (kw - 1) - 1) / sw + 1;

  Var x(name + "_x"), y(name + "_y"), c(name + "_c"), n(name + "_n");
  RDom r(0, cPerGroup, 0, kh, 0, kw, name + "_r");
  Expr iy = y * sh + r.y * dh - pt, ix = x * sw + r.z * dw - pl;
  Expr inside = iy >= 0 && iy < in.shape[2] && ix >= 0 && ix < in.shape[3];
  Expr channel = (c / (m / group)) * cPerGroup + r.x;
  Expr pixel = widen(in.call({n, channel, Halide::clamp(iy, 0, in.shape[2] - 1),
                              Halide::clamp(ix, 0, in.shape[3] - 1)}));
  Halide::Type acc = computeType(ht);
  Func conv(name + "_acc");
  Expr init = typedZero(acc);
  if (Value bias = op.getBias())
    init = widen(get(bias).call({c}));
  conv(x, y, c, n) = init;
  conv(x, y, c, n) += Halide::select(inside, pixel, typedZero(acc)) *
                      widen(w.call({c, r.x, r.y, r.z}));
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(x, y, c, n) = narrow(conv(x, y, c, n), ht);
  t.shape = {in.shape[0], Expr(m), oh, ow};
  funcs.main = t.func;
  funcs.helpers = {conv};
  tensors[op.getResult()] = t;
  return success();
}

LogicalResult PipelineBuilder::defineEinsum(EinsumOp op,
                                            const std::string &name,
                                            OpFuncs &funcs) {
  StringRef equation = op.getEquation();
  auto [lhs, out] = equation.split("->");
  SmallVector<StringRef> terms;
  lhs.split(terms, ',');
  if (terms.size() != op.getInputs().size())
    return op.emitOpError("has ") << terms.size() << " operand terms for "
                                  << op.getInputs().size() << " inputs";
  std::map<char, Expr> extent;
  for (auto [term, input] : llvm::zip(terms, op.getInputs())) {
    Tensor &t = get(input);
    if (static_cast<int>(term.size()) != t.rank())
      return op.emitOpError("term '")
             << term << "' does not match an operand of rank " << t.rank();
    for (auto [k, letter] : llvm::enumerate(term))
      if (!extent.count(letter))
        extent[letter] = t.shape[k];
  }
  std::string summed;
  for (auto &[letter, e] : extent)
    if (!out.contains(letter))
      summed.push_back(letter);
  Halide::Type ht = *toHalideType(op.getType().getElementType());
  int rank = static_cast<int>(out.size());
  std::vector<Var> vars = makeVars(rank, name);
  std::vector<Expr> idx = onnxIndex(vars);
  std::map<char, Expr> index;
  for (int k = 0; k < rank; ++k)
    index[out[k]] = idx[k];
  Halide::Region region;
  for (char letter : summed)
    region.push_back(Halide::Range(0, extent[letter]));
  RDom r;
  if (!region.empty()) {
    r = RDom(region, name + "_r");
    for (auto [k, letter] : llvm::enumerate(summed))
      index[letter] = r[k];
  }
  Expr product;
  for (auto [term, input] : llvm::zip(terms, op.getInputs())) {
    std::vector<Expr> ix;
    for (char letter : term)
      ix.push_back(index[letter]);
    Expr v = widen(get(input).call(ix));
    product = product.defined() ? product * v : v;
  }
  std::vector<Expr> shape;
  for (char letter : out)
    shape.push_back(extent[letter]);
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(vars) = narrow(region.empty() ? product : Halide::sum(product), ht);
  t.shape = shape;
  funcs.main = t.func;
  tensors[op.getResult()] = t;
  return success();
}

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineMatMul(Operation *op,
                                            const std::string &name,
                                            OpFuncs &funcs) {
  Value lhs = op->getOperand(0), rhs = op->getOperand(1);
  auto aType = cast<RankedTensorType>(lhs.getType());
  auto bType = cast<RankedTensorType>(rhs.getType());
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  Tensor &a = get(lhs);
  Tensor &b = get(rhs);
  Halide::Type ht = *toHalideType(outType.getElementType());
  int rank = outType.getRank();
  std::vector<Var> vars = makeVars(rank, name);
  std::vector<Expr> idx = onnxIndex(vars);
  Expr kExtent = a.shape[a.rank() - 1];
  // Where only the run knows the two contraction extents, the product runs
  // over the shorter, so that no read strays past either operand before
  // the requirement below reports that they differ.
  if (b.rank() >= 2 && (aType.isDynamicDim(aType.getRank() - 1) ||
                        bType.isDynamicDim(bType.getRank() - 2)))
    kExtent = Halide::min(kExtent, b.shape[b.rank() - 2]);
  RDom rk(0, kExtent, name + "_k");
  // Extents the graph needs equal but only the run knows: the contraction,
  // and batch axes that must agree or broadcast from 1.
  std::string where = describeNode(op);
  if (bType.getRank() >= 2 && (aType.isDynamicDim(aType.getRank() - 1) ||
                               bType.isDynamicDim(bType.getRank() - 2)))
    require(a.shape[a.rank() - 1] == b.shape[b.rank() - 2],
            op->getName().getStringRef().str() + " at " + where +
                ": the left operand's last extent and the right operand's "
                "second to last differ");
  for (int k = 0; k < rank - 2; ++k) {
    int ka = k - (rank - aType.getRank()), kb = k - (rank - bType.getRank());
    if (ka < 0 || kb < 0 ||
        (!aType.isDynamicDim(ka) && !bType.isDynamicDim(kb)))
      continue;
    Expr ea = a.shape[ka], eb = b.shape[kb];
    require(ea == eb || ea == 1 || eb == 1,
            op->getName().getStringRef().str() + " at " + where +
                ": the operands' batch extents on axis " + std::to_string(k) +
                " do not broadcast");
  }

  // Batch axes broadcast like an elementwise op; then [m, k] and [k, n].
  // `at` is an index of the result (ONNX order).
  auto operandIndex = [&](RankedTensorType t, bool isLhs,
                          const std::vector<Expr> &at, Expr k = Expr()) {
    if (!k.defined())
      k = rk.x;
    std::vector<Expr> ix;
    int batch = t.getRank() - 2, outBatch = rank - 2;
    for (int k = 0; k < batch; ++k) {
      int o = outBatch - batch + k;
      bool stretched = t.getDimSize(k) == 1 && outType.getDimSize(o) != 1;
      ix.push_back(stretched ? Expr(0) : at[o]);
    }
    if (isLhs) {
      ix.push_back(at[rank - 2]);
      ix.push_back(k);
    } else {
      ix.push_back(k);
      ix.push_back(at[rank - 1]);
    }
    return ix;
  };

  Halide::Type acc = computeType(ht);
  auto linear = dyn_cast<LinearOp>(op);
  auto schedule = dyn_cast_or_null<ScheduleAttr>(op->getAttr("schedule"));
  // 8-bit integer products (attn.matmul_integer, quantized attn.linear):
  // operands less their zero points, summed exactly in i32.
  auto integer = dyn_cast<MatMulIntegerOp>(op);
  bool quantized = linear && linear.isQuantized();
  Value lhsZero, rhsZero, productScale;
  if (integer) {
    lhsZero = integer.getLhsZeroPoint();
    rhsZero = integer.getRhsZeroPoint();
  } else if (quantized) {
    lhsZero = linear.getLhsZeroPoint();
    rhsZero = linear.getRhsZeroPoint();
    productScale = linear.getProductScale();
  }
  if (integer || quantized)
    acc = Halide::Int(32);
  // A zero point or scale: a scalar, or the entry at `at` of a vector.
  auto perEntry = [&](Value v, Expr at) -> Expr {
    auto t = cast<RankedTensorType>(v.getType());
    std::vector<Expr> ix(t.getRank(), Expr(0));
    if (t.getNumElements() != 1)
      ix[0] = at;
    return get(v).call(ix);
  };
  // An 8-bit value less its zero point, in i32. The zero point is read
  // through a reinterpret, which Halide cannot narrow: Halide 14 rewrites
  // i32(x) - i32(z) of 8-bit x and z into a 16-bit widening subtraction
  // that it then computes as x + z.
  auto lessZero = [](Expr x, Expr zero) {
    Expr z = Halide::reinterpret(
        Halide::Int(32),
        Halide::reinterpret(Halide::UInt(32), Halide::cast<int32_t>(zero)));
    return Halide::cast<int32_t>(x) - z;
  };
  auto lhsElement = [&](const std::vector<Expr> &ix, Expr row) -> Expr {
    if (!lhsZero)
      return widen(a.call(ix));
    return lessZero(a.call(ix), perEntry(lhsZero, row));
  };
  auto rhsElement = [&](const std::vector<Expr> &ix, Expr column) -> Expr {
    if (!rhsZero)
      return widen(b.call(ix));
    return lessZero(b.call(ix), perEntry(rhsZero, column));
  };
  Tensor t;
  t.type = ht;
  // The product at the result's index, in the accumulator type.
  Expr x;
  int64_t bRank = bType.getRank();
  int64_t n = bRank >= 2 ? bType.getDimSize(bRank - 1) : 0;
  // A constant right operand arrives re-laid out in panels
  // (attn-pack-weights), read in place; any other is read as it is.
  auto fromPanels = rhs.getDefiningOp<FromPanelsOp>();
  if (schedule && schedule.getKind() == KernelForm::panels && !fromPanels &&
      n % schedule.getTiles()[1] != 0)
    return op->emitOpError("has a schedule of kind panels, but its right "
                           "operand is not known at compile time and its ")
           << n << " columns do not fill panels of " << schedule.getTiles()[1];
  if (schedule && schedule.getKind() == KernelForm::panels) {
    // Register tiles over panels of `width` columns: tasks of rows × one
    // panel, the panel's weights read sequentially where they were laid out
    // panel by panel.
    BlockedMatMulFuncs &f = funcs.form.emplace<BlockedMatMulFuncs>();
    f.taskRows = static_cast<int>(schedule.getTiles()[0]);
    f.panelColumns = static_cast<int>(schedule.getTiles()[1]);
    f.tileRows = static_cast<int>(schedule.getTiles()[2]);
    f.lanes = static_cast<int>(schedule.getVectorWidth());
    f.k = rk;
    int width = f.panelColumns;
    int64_t kSize = bType.getDimSize(bRank - 2);
    std::function<Expr(Expr, Expr, Expr)> panelRead;
    std::vector<Expr> rhsBatch;
    Tensor packed;
    if (fromPanels) {
      auto packedType = fromPanels.getPanels().getType();
      bool quads = packedType.getElementType().isInteger(8);
      if ((packedType.getRank() == 4) != (schedule.getBf16() || quads) ||
          quads != quantized || packedType.getDimSize(2) != width)
        return op->emitOpError("reads panels ")
               << packedType << " that its schedule (panels of " << width
               << " columns" << (schedule.getBf16() ? ", bf16" : "")
               << ") does not describe";
      packed = get(fromPanels.getPanels());
    }
    if (fromPanels && !schedule.getBf16()) {
      panelRead = [packed](Expr column, Expr k, Expr panel) {
        return packed.call({panel, k, column});
      };
    } else {
      // Columns past the end (the last panel's, computed whole) read the
      // last column; where the columns fill whole panels there are none,
      // and the read stays one dense vector (Halide cannot see through the
      // clamp when the result's extents are known only at run time). A
      // batched right operand is read at the batch entry of the task
      // (`rhsBatch`, set below with the tasks' variables).
      panelRead = [&b, &rhsBatch, width, n](Expr column, Expr k, Expr panel) {
        std::vector<Expr> ix = rhsBatch;
        ix.push_back(k);
        Expr at = panel * width + column;
        ix.push_back(n % width == 0 ? at
                                    : Halide::min(at, static_cast<int>(n) - 1));
        return b.call(ix);
      };
    }
    // acc(column, row, panel, batch...): rows past the end read the last
    // row, so that every tile has the same extents.
    std::vector<Var> pv = {Var(name + "_c"), Var(name + "_r"),
                           Var(name + "_panel")};
    for (int k = 2; k < rank; ++k)
      pv.push_back(vars[k]);
    std::vector<Expr> at(rank);
    for (int o = 0; o < rank - 2; ++o)
      at[o] = pv[rank - 1 - o + 1];
    at[rank - 2] = Halide::clamp(pv[1], 0, a.shape[a.rank() - 2] - 1);
    // The batch entry of a batched right operand, broadcast as the generic
    // form reads it.
    for (int o = 0, rb = static_cast<int>(bRank) - 2; o < rb; ++o) {
      int out = rank - 2 - rb + o;
      bool stretched = bType.getDimSize(o) == 1 && outType.getDimSize(out) != 1;
      rhsBatch.push_back(stretched ? Expr(0) : at[out]);
    }
    f.acc = Func(name + "_acc");
    f.acc(pv) = Halide::cast(acc, 0);
    if (quantized) {
      // 8-bit products summed in quads of k (vpdpbusd: u8 × i8 → i32): the
      // weights as [panel][k / 4][column][4] i8 (zero past the ends), the
      // left operand as u8; i8 operands are offset by 128 and u8 weights
      // by -128, which the zero points below take back.
      f.int8 = true;
      usesInt8Dot = true;
      int64_t kQuads = llvm::divideCeil(kSize, 4);
      bool lhsSigned = !aType.getElementType().isUnsignedInteger();
      bool rhsUnsigned = bType.getElementType().isUnsignedInteger();
      Var e(name + "_qe"), c(name + "_qc"), kq(name + "_kq"),
          panel(name + "_qp");
      Func bQuads(name + "_bquads");
      if (fromPanels) {
        bQuads(e, c, kq, panel) = packed.call({panel, kq, c, e});
      } else {
        Expr k = 4 * kq + e, column = panel * width + c;
        Expr w = b.call({Halide::min(k, static_cast<int>(kSize) - 1),
                         Halide::min(column, static_cast<int>(n) - 1)});
        if (rhsUnsigned)
          w = Halide::cast<int8_t>(Halide::cast<int16_t>(w) - 128);
        bQuads(e, c, kq, panel) = Halide::select(
            k < static_cast<int>(kSize) && column < static_cast<int>(n), w,
            Halide::cast<int8_t>(0));
        f.bQuads = bQuads;
      }
      std::vector<Var> av = {Var(name + "_ak"), pv[1]};
      for (int k = 3; k < static_cast<int>(pv.size()); ++k)
        av.push_back(pv[k]);
      Expr lhsByte = a.call(operandIndex(
          aType, true, at, Halide::min(av[0], static_cast<int>(kSize) - 1)));
      if (lhsSigned)
        lhsByte = Halide::cast<uint8_t>(Halide::cast<int16_t>(lhsByte) + 128);
      f.aQuads = Func(name + "_aquads");
      f.aQuads(av) = lhsByte;
      // u8 rows whose length is a whole number of quads are read in place.
      f.aQuadsInPlace = !lhsSigned && kSize % 4 == 0;
      RDom rq(0, 4, 0, static_cast<int>(kQuads), name + "_kquad");
      std::vector<Expr> aAt = {4 * rq.y + rq.x, pv[1]};
      for (int k = 3; k < static_cast<int>(pv.size()); ++k)
        aAt.push_back(pv[k]);
      f.acc(pv) += Halide::cast<int32_t>(f.aQuads(aAt)) *
                   Halide::cast<int32_t>(bQuads(rq.x, pv[0], rq.y, pv[2]));
      f.k = rq;
      // The zero-point terms of Σ (a − za)(w − zw) = Σ a·w − za·Σ w −
      // zw·Σ a + K·za·zw, with the offsets above folded into za and zw.
      // The column sums: in panels laid out before the run, the i32 of the
      // quad row after the last; otherwise each panel's quad rows summed
      // as runs of 4 × width contiguous bytes (colBytes(4 · column + quad
      // element, panel)), then each column's four.
      Var sc(name + "_sc"), sp(name + "_sp"), sj(name + "_sj");
      f.colSum = Func(name + "_colsum");
      if (fromPanels) {
        auto byteAt = [&](int h) {
          return Halide::cast<uint32_t>(Halide::cast<uint8_t>(packed.call(
                     {sp, Expr(static_cast<int>(kQuads)), sc, Expr(h)})))
                 << (8 * h);
        };
        f.colSum(sc, sp) = Halide::reinterpret<int32_t>(byteAt(0) | byteAt(1) |
                                                        byteAt(2) | byteAt(3));
      } else {
        RDom rs(0, static_cast<int>(kQuads), name + "_ksum");
        f.colBytes = Func(name + "_colbytes");
        f.colBytes(sj, sp) = 0;
        f.colBytes(sj, sp) +=
            Halide::cast<int32_t>(bQuads(sj % 4, sj / 4, rs.x, sp));
        f.colSum(sc, sp) = f.colBytes(4 * sc, sp) + f.colBytes(4 * sc + 1, sp) +
                           f.colBytes(4 * sc + 2, sp) +
                           f.colBytes(4 * sc + 3, sp);
      }
      auto rhsZeroConst = rhsZero.getDefiningOp<ConstantOp>();
      bool rhsZeroIsZero = false;
      if (rhsZeroConst && !rhsUnsigned)
        if (auto dense = dyn_cast<DenseElementsAttr>(rhsZeroConst.getValue()))
          rhsZeroIsZero =
              llvm::all_of(dense.getValues<APInt>(),
                           [](const APInt &v) { return v.isZero(); });
      if (!rhsZeroIsZero) {
        std::vector<Var> rv = {pv[1]};
        for (int k = 3; k < static_cast<int>(pv.size()); ++k)
          rv.push_back(pv[k]);
        RDom rk2(0, static_cast<int>(kSize), name + "_krow");
        std::vector<Expr> rAt = {rk2.x};
        for (size_t k = 0; k < rv.size(); ++k)
          rAt.push_back(rv[k]);
        f.rowSum = Func(name + "_rowsum");
        f.rowSum(rv) = 0;
        f.rowSum(rv) += Halide::cast<int32_t>(f.aQuads(rAt));
      }
    } else if (schedule.getBf16()) {
      // bfloat16 products summed in pairs of k (vdpbf16ps): the weights as
      // [panel][k / 2][column][2] (zero past the ends), the rows of the
      // left operand rounded to bfloat16 once per register tile.
      f.bf16 = true;
      int64_t kPairs = llvm::divideCeil(kSize, 2);
      int64_t panels = llvm::divideCeil(n, width);
      Var e(name + "_pe"), c(name + "_pc"), kp(name + "_kp"),
          panel(name + "_pp");
      Func bPairs(name + "_bpairs");
      if (fromPanels) {
        bPairs(e, c, kp, panel) = packed.call({panel, kp, c, e});
      } else {
        Expr k = 2 * kp + e, column = panel * width + c;
        bPairs(e, c, kp, panel) = Halide::select(
            k < static_cast<int>(kSize) && column < static_cast<int>(n),
            Halide::cast(
                Halide::BFloat(16),
                widen(b.call({Halide::min(k, static_cast<int>(kSize) - 1),
                              Halide::min(column, static_cast<int>(n) - 1)}))),
            Halide::cast(Halide::BFloat(16), 0.0f));
        f.bPairs = bPairs;
      }
      std::vector<Var> av = {Var(name + "_ak"), pv[1]};
      for (int k = 3; k < static_cast<int>(pv.size()); ++k)
        av.push_back(pv[k]);
      f.aPairs = Func(name + "_apairs");
      f.aPairs(av) =
          Halide::cast(Halide::BFloat(16),
                       widen(a.call(operandIndex(
                           aType, true, at,
                           Halide::min(av[0], static_cast<int>(kSize) - 1)))));
      RDom rp(0, 2, 0, static_cast<int>(kPairs), name + "_kpair");
      std::vector<Expr> aAt = {2 * rp.y + rp.x, pv[1]};
      for (int k = 3; k < static_cast<int>(pv.size()); ++k)
        aAt.push_back(pv[k]);
      f.acc(pv) += Halide::cast<float>(bPairs(rp.x, pv[0], rp.y, pv[2])) *
                   Halide::cast<float>(f.aPairs(aAt));
      f.k = rp;
    } else {
      f.acc(pv) += widen(a.call(operandIndex(aType, true, at))) *
                   widen(panelRead(pv[0], rk.x, pv[2]));
    }
    std::vector<Expr> read = {vars[0] % width, vars[1], vars[0] / width};
    for (int k = 2; k < rank; ++k)
      read.push_back(vars[k]);
    x = f.acc(read);
    if (f.int8) {
      Expr column = Halide::min(vars[0], static_cast<int>(n) - 1);
      Expr za = Halide::cast<int32_t>(perEntry(lhsZero, Expr(0)));
      if (!aType.getElementType().isUnsignedInteger())
        za = za + 128;
      Expr zw = Halide::cast<int32_t>(perEntry(rhsZero, column));
      if (bType.getElementType().isUnsignedInteger())
        zw = zw - 128;
      x = x - za * f.colSum(vars[0] % width, vars[0] / width);
      if (f.rowSum.defined()) {
        std::vector<Expr> rAt = {vars[1]};
        for (int k = 2; k < rank; ++k)
          rAt.push_back(vars[k]);
        x = x - zw * f.rowSum(rAt) + static_cast<int>(kSize) * za * zw;
      }
      x = Halide::cast<float>(x) *
          Halide::cast<float>(perEntry(productScale, column));
    }
  } else {
    bool direct = ht == acc && !linear;
    Func product = direct ? Func(name) : Func(name + "_acc");
    product(vars) = Halide::cast(acc, 0);
    product(vars) += lhsElement(operandIndex(aType, true, idx), idx[rank - 2]) *
                     rhsElement(operandIndex(bType, false, idx), idx[rank - 1]);
    if (direct) {
      t.func = product;
      funcs.main = product;
      funcs.hasUpdate = true;
    } else if (linear) {
      // The product is computed row by row inside the epilogue's loops.
      funcs.form = LinearFuncs{product};
    } else {
      funcs.main = product;
      funcs.hasUpdate = true;
    }
    x = product(vars);
    if (quantized)
      x = Halide::cast<float>(x) *
          Halide::cast<float>(perEntry(productScale, idx[rank - 1]));
  }
  if (!t.func.defined()) {
    // The epilogue of attn.linear, in the accumulator type. Register tiles
    // compute whole panels: columns past the end read the last column's
    // bias and residual.
    if (linear) {
      std::vector<Expr> at = idx;
      if (std::holds_alternative<BlockedMatMulFuncs>(funcs.form))
        at[rank - 1] = Halide::min(at[rank - 1], static_cast<int>(n) - 1);
      bool nonFinite = false;
      if (Value bias = linear.getBias()) {
        x = x + widen(broadcastRead(get(bias),
                                    cast<RankedTensorType>(bias.getType()),
                                    outType, at));
        nonFinite |= get(bias).nonFinite;
      }
      x = applyActivation(linear.getActivation(), x);
      if (Value residual = linear.getResidual()) {
        x = x + widen(broadcastRead(get(residual),
                                    cast<RankedTensorType>(residual.getType()),
                                    outType, at));
        nonFinite |= get(residual).nonFinite;
      }
      // A residual of -inf (an attention mask) must survive the sum.
      if (nonFinite)
        x = Halide::strict_float(x);
      t.nonFinite = nonFinite;
    }
    t.func = Func(name);
    t.func(vars) = narrow(x, ht);
    if (!std::holds_alternative<std::monostate>(funcs.form))
      funcs.main = t.func;
    if (auto *blocked = std::get_if<BlockedMatMulFuncs>(&funcs.form))
      blocked->out = t.func;
  }

  // Output extents: broadcast batch, then M and N.
  std::vector<Expr> shape(rank);
  for (int k = 0; k < rank - 2; ++k) {
    if (!ShapedType::isDynamic(outType.getDimSize(k))) {
      shape[k] = static_cast<int>(outType.getDimSize(k));
      continue;
    }
    int ka = k - (rank - aType.getRank());
    bool aHas = ka >= 0 && aType.getDimSize(ka) != 1;
    shape[k] = aHas ? a.shape[ka] : b.shape[k - (rank - bType.getRank())];
  }
  shape[rank - 2] = a.shape[a.rank() - 2];
  shape[rank - 1] = b.shape[b.rank() - 1];
  t.shape = shape;
  tensors[op->getResult(0)] = t;
  return success();
}

//===----------------------------------------------------------------------===//
// Transposed convolution
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineConvTranspose(ConvTransposeOp op,
                                                   const std::string &name,
                                                   OpFuncs &funcs) {
  Tensor &x = get(op.getInput());
  Tensor &w = get(op.getWeight());
  Tensor *bias = op.getBias() ? &get(op.getBias()) : nullptr;
  auto outType = op.getType();
  auto wType = op.getWeight().getType();
  Halide::Type ht = *toHalideType(outType.getElementType());
  Halide::Type acc = computeType(ht);
  int rank = x.rank(), k = rank - 2;
  int group = static_cast<int>(op.getGroup());
  int inPerGroup = static_cast<int>(wType.getDimSize(0)) / group;
  int outPerGroup = static_cast<int>(wType.getDimSize(1));
  ArrayRef<int64_t> strides = op.getStrides(), pads = op.getPads(),
                    dilations = op.getDilations();
  std::vector<Var> vars = makeVars(rank, name);
  std::vector<Expr> o = onnxIndex(vars);
  // Every input channel of the group and every tap: the input position a
  // tap reaches this output from, where the stride divides it.
  std::vector<Halide::Range> ranges;
  for (int d = k - 1; d >= 0; --d)
    ranges.push_back(
        Halide::Range(0, static_cast<int>(wType.getDimSize(2 + d))));
  ranges.push_back(Halide::Range(0, inPerGroup));
  RDom r(ranges, name + "_r");
  Expr g = o[1] / outPerGroup, m = o[1] % outPerGroup;
  Expr c = g * inPerGroup + r[k];
  std::vector<Expr> xIdx = {o[0], c}, wIdx = {c, m};
  Expr valid = Halide::Internal::const_true();
  for (int d = 0; d < k; ++d) {
    Expr tap = r[k - 1 - d];
    Expr s = static_cast<int>(strides[d]);
    Expr num = o[2 + d] + static_cast<int>(pads[d]) -
               tap * static_cast<int>(dilations[d]);
    Expr i = num / s;
    valid = valid && num >= 0 && num % s == 0 && i < x.shape[2 + d];
    xIdx.push_back(Halide::clamp(i, 0, x.shape[2 + d] - 1));
    wIdx.push_back(tap);
  }
  Expr product = Halide::cast(acc, widen(x.call(xIdx))) *
                 Halide::cast(acc, widen(w.call(wIdx)));
  Func sum(name + "_sum");
  sum(vars) = typedZero(acc);
  sum(vars) += Halide::select(valid, product, typedZero(acc));
  Expr y = sum(vars);
  if (bias)
    y += Halide::cast(acc, widen(bias->call({o[1]})));
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(vars) = narrow(y, ht);
  t.shape = {x.shape[0], static_cast<int>(outType.getDimSize(1))};
  for (int d = 0; d < k; ++d) {
    if (!outType.isDynamicDim(2 + d)) {
      t.shape.push_back(static_cast<int>(outType.getDimSize(2 + d)));
      continue;
    }
    // stride · (in - 1) + dilated kernel - pads (no output_padding: ONNX
    // infers a dynamic extent only without it).
    t.shape.push_back(
        (x.shape[2 + d] - 1) * static_cast<int>(strides[d]) +
        static_cast<int>(dilations[d] * (wType.getDimSize(2 + d) - 1) + 1 -
                         pads[d] - pads[k + d]));
  }
  funcs.main = t.func;
  funcs.helpers = {sum};
  tensors[op.getResult()] = t;
  return success();
}
