//===- EmitShapes.cpp - Layout and indexing ops -----------------*- C++ -*-===//
//
// Transposes, reshapes, concatenations, slices, gathers, expansions, pads,
// ranges and triangles: each output element reads one input element. Shape
// arithmetic never becomes a kernel: ops that take a shape (Reshape, Expand,
// Slice, Range...) read it from the elements known before the run
// (Tensor::values), so their extents are expressions of the input extents.
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

std::optional<LogicalResult>
PipelineBuilder::defineShapeOp(Operation *op, const std::string &name,
                               OpFuncs &funcs) {
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  Halide::Type ht = *toHalideType(outType.getElementType());
  int rank = outType.getRank();
  auto typeOf = [](Value v) { return cast<RankedTensorType>(v.getType()); };
  return llvm::TypeSwitch<Operation *, std::optional<LogicalResult>>(op)
      .Case([&](GatherNdOp g) {
        Tensor &data = get(g.getData());
        Tensor &indices = get(g.getIndices());
        int b = static_cast<int>(g.getBatchDims());
        int ir = indices.rank();
        int64_t q = g.getIndices().getType().getDimSize(ir - 1);
        std::vector<Expr> shape(indices.shape.begin(), indices.shape.end() - 1);
        for (int k = b + static_cast<int>(q); k < data.rank(); ++k)
          shape.push_back(data.shape[k]);
        defineElementwise(
            op, name, funcs, shape, [&](const std::vector<Expr> &i) {
              std::vector<Expr> dataIdx(i.begin(), i.begin() + b);
              std::vector<Expr> tuple(i.begin(), i.begin() + ir - 1);
              tuple.push_back(Expr());
              for (int j = 0; j < q; ++j) {
                tuple.back() = j;
                Expr extent = data.shape[b + j];
                Expr index = asInt(indices.call(tuple));
                index = Halide::select(index < 0, index + extent, index);
                dataIdx.push_back(Halide::clamp(index, 0, extent - 1));
              }
              for (size_t k = ir - 1; k < i.size(); ++k)
                dataIdx.push_back(i[k]);
              return data.call(dataIdx);
            });
        return success();
      })
      .Case([&](TransposeOp t) {
        Tensor &in = get(t.getInput());
        ArrayRef<int64_t> perm = t.getPerm();
        std::vector<Expr> shape(rank);
        for (int k = 0; k < rank; ++k)
          shape[k] = in.shape[perm[k]];
        defineElementwise(op, name, funcs, shape,
                          [&](const std::vector<Expr> &i) {
                            std::vector<Expr> inIdx(rank);
                            for (int k = 0; k < rank; ++k)
                              inIdx[perm[k]] = i[k];
                            return in.call(inIdx);
                          });
        return success();
      })
      .Case([&](FromPanelsOp f) {
        // The matrix read back out of its panels (a product scheduled in
        // panels reads the panels themselves).
        Tensor &in = get(f.getPanels());
        auto out = f.getOutput().getType();
        int width = static_cast<int>(f.getPanels().getType().getDimSize(2));
        bool pairs = in.rank() == 4;
        std::vector<Expr> shape = {static_cast<int>(out.getDimSize(0)),
                                   static_cast<int>(out.getDimSize(1))};
        defineElementwise(
            op, name, funcs, shape, [&](const std::vector<Expr> &i) {
              Expr k = i[0], n = i[1];
              Expr x = pairs ? in.call({n / width, k / 2, n % width, k % 2})
                             : in.call({n / width, k, n % width});
              return narrow(widen(x), ht);
            });
        return success();
      })
      .Case([&](ReshapeOp r) {
        std::vector<Expr> spec;
        for (int64_t d : r.getShape())
          spec.push_back(Expr(d));
        return defineReshape(op, name, funcs, spec);
      })
      .Case([&](ReshapeDynamicOp r) {
        FailureOr<std::vector<Expr>> spec =
            knownValues(op, r.getShape(), "target shape");
        if (failed(spec))
          return failure();
        if (r.getAllowzero()) {
          for (auto [k, e] : llvm::enumerate(*spec)) {
            Expr entry = simplifyKnown(e);
            if (Halide::Internal::is_const_zero(entry)) {
              op->emitOpError("has a target shape whose entry ")
                  << k << " is 0 with allowzero, an empty tensor";
              return failure();
            }
            if (!Halide::Internal::is_const(entry))
              require(entry != 0, "reshape at " + name + ": entry " +
                                      std::to_string(k) +
                                      " of the target shape is 0 (allowzero)");
          }
        }
        return defineReshape(op, name, funcs, *spec);
      })
      .Case([&](ExpandDimsOp e) {
        Tensor &in = get(e.getInput());
        ArrayRef<int64_t> axes = e.getAxes();
        auto isMarked = [&](int64_t k) { return llvm::is_contained(axes, k); };
        std::vector<Expr> shape;
        if (e.getSqueeze()) {
          for (int k = 0; k < in.rank(); ++k)
            if (!isMarked(k))
              shape.push_back(in.shape[k]);
        } else {
          int j = 0;
          for (int k = 0; k < rank; ++k)
            shape.push_back(isMarked(k) ? Expr(1) : in.shape[j++]);
        }
        defineElementwise(op, name, funcs, shape,
                          [&](const std::vector<Expr> &i) {
                            std::vector<Expr> inIdx;
                            if (e.getSqueeze()) {
                              int j = 0;
                              for (int k = 0; k < in.rank(); ++k)
                                inIdx.push_back(isMarked(k) ? Expr(0) : i[j++]);
                            } else {
                              for (int k = 0; k < rank; ++k)
                                if (!isMarked(k))
                                  inIdx.push_back(i[k]);
                            }
                            return in.call(inIdx);
                          });
        return success();
      })
      .Case([&](ShapeOp s) {
        Tensor &in = get(s.getInput());
        std::vector<Expr> extents;
        for (int64_t k = s.getStart(); k < s.getEnd(); ++k)
          extents.push_back(Halide::cast<int64_t>(in.shape[k]));
        Tensor t;
        t.type = ht;
        t.func = Func(name);
        Var i(name + "_i");
        Expr e = extents.empty() ? Expr(int64_t(0)) : extents.back();
        for (int k = static_cast<int>(extents.size()) - 2; k >= 0; --k)
          e = Halide::select(i == k, extents[k], e);
        t.func(i) = e;
        t.shape = {static_cast<int>(extents.size())};
        t.values = extents;
        t.valueShape = {static_cast<int64_t>(extents.size())};
        funcs.main = t.func;
        tensors[op->getResult(0)] = t;
        return success();
      })
      .Case([&](ConcatOp c) {
        int64_t axis = c.getAxis();
        std::vector<Expr> shape = get(c.getInputs()[0]).shape;
        // The other axes must agree, where only the run knows them.
        for (Value v : c.getInputs().drop_front())
          for (int k = 0; k < rank; ++k)
            if (k != axis && (typeOf(v).isDynamicDim(k) ||
                              typeOf(c.getInputs()[0]).isDynamicDim(k)))
              require(get(v).shape[k] == shape[k],
                      "attn.concat at " + describeNode(op) +
                          ": the inputs' extents on axis " + std::to_string(k) +
                          " differ");
        Expr total = 0;
        std::vector<Expr> offsets;
        for (Value v : c.getInputs()) {
          offsets.push_back(total);
          total = total + get(v).shape[axis];
        }
        shape[axis] = total;
        defineElementwise(
            op, name, funcs, shape, [&](const std::vector<Expr> &i) {
              // Selects from the last input backwards: the first input
              // whose range holds the index wins.
              Expr chosen = get(c.getInputs().back()).call([&] {
                std::vector<Expr> inIdx = i;
                const Tensor &last = get(c.getInputs().back());
                inIdx[axis] = Halide::clamp(i[axis] - offsets.back(), 0,
                                            last.shape[axis] - 1);
                return inIdx;
              }());
              for (int t = static_cast<int>(offsets.size()) - 2; t >= 0; --t) {
                const Tensor &in = get(c.getInputs()[t]);
                std::vector<Expr> inIdx = i;
                inIdx[axis] =
                    Halide::clamp(i[axis] - offsets[t], 0, in.shape[axis] - 1);
                chosen = Halide::select(i[axis] < offsets[t + 1],
                                        in.call(inIdx), chosen);
              }
              return chosen;
            });
        return success();
      })
      .Case([&](SliceOp s) { return defineSlice(s, name, funcs); })
      .Case([&](GatherOp g) {
        Tensor &data = get(g.getData());
        Tensor &indices = get(g.getIndices());
        int64_t axis = g.getAxis();
        int ir = indices.rank();
        std::vector<Expr> shape;
        for (int k = 0; k < axis; ++k)
          shape.push_back(data.shape[k]);
        for (int k = 0; k < ir; ++k)
          shape.push_back(indices.shape[k]);
        for (int k = axis + 1; k < data.rank(); ++k)
          shape.push_back(data.shape[k]);
        Expr extent = data.shape[axis];
        defineElementwise(
            op, name, funcs, shape, [&](const std::vector<Expr> &i) {
              std::vector<Expr> idxIdx(i.begin() + axis, i.begin() + axis + ir);
              Expr index = asInt(indices.call(idxIdx));
              index = Halide::select(index < 0, index + extent, index);
              std::vector<Expr> dataIdx(i.begin(), i.begin() + axis);
              dataIdx.push_back(Halide::clamp(index, 0, extent - 1));
              for (size_t k = axis + ir; k < i.size(); ++k)
                dataIdx.push_back(i[k]);
              return data.call(dataIdx);
            });
        return success();
      })
      .Case([&](GatherElementsOp g) {
        Tensor &data = get(g.getInput());
        Tensor &indices = get(g.getIndices());
        int64_t axis = g.getAxis();
        Expr extent = data.shape[axis];
        defineElementwise(
            op, name, funcs, indices.shape, [&](const std::vector<Expr> &i) {
              Expr index = asInt(indices.call(i));
              index = Halide::select(index < 0, index + extent, index);
              std::vector<Expr> dataIdx = i;
              dataIdx[axis] = Halide::clamp(index, 0, extent - 1);
              return data.call(dataIdx);
            });
        return success();
      })
      .Case([&](ExpandOp e) {
        Tensor &in = get(e.getInput());
        FailureOr<std::vector<Expr>> target =
            knownValues(op, e.getShape(), "target shape");
        if (failed(target))
          return failure();
        std::vector<Expr> shape(rank);
        int offsetIn = rank - in.rank();
        int offsetT = rank - static_cast<int>(target->size());
        for (int k = 0; k < rank; ++k) {
          if (!outType.isDynamicDim(k)) {
            shape[k] = static_cast<int>(outType.getDimSize(k));
            continue;
          }
          Expr t = k >= offsetT ? clampToInt((*target)[k - offsetT]) : Expr(1);
          Expr x = k >= offsetIn ? in.shape[k - offsetIn] : Expr(1);
          shape[k] = Halide::select(t == 1, x, t);
        }
        defineElementwise(
            op, name, funcs, shape, [&](const std::vector<Expr> &i) {
              std::vector<Expr> inIdx;
              for (int k = 0; k < in.rank(); ++k) {
                auto inType = typeOf(e.getInput());
                int o = k + offsetIn;
                if (inType.getDimSize(k) == 1)
                  inIdx.push_back(0);
                else if (inType.isDynamicDim(k))
                  inIdx.push_back(Halide::min(i[o], in.shape[k] - 1));
                else
                  inIdx.push_back(i[o]);
              }
              return in.call(inIdx);
            });
        return success();
      })
      .Case([&](TileOp t) {
        Tensor &in = get(t.getInput());
        FailureOr<std::vector<Expr>> repeats =
            knownValues(op, t.getRepeats(), "repeats");
        if (failed(repeats))
          return failure();
        std::vector<Expr> shape(rank);
        for (int k = 0; k < rank; ++k)
          shape[k] = in.shape[k] * clampToInt((*repeats)[k]);
        defineElementwise(op, name, funcs, shape,
                          [&](const std::vector<Expr> &i) {
                            std::vector<Expr> inIdx(rank);
                            for (int k = 0; k < rank; ++k)
                              inIdx[k] = i[k] % in.shape[k];
                            return in.call(inIdx);
                          });
        return success();
      })
      .Case([&](ConstantOfShapeOp c) {
        FailureOr<std::vector<Expr>> target =
            knownValues(op, c.getShape(), "shape");
        if (failed(target))
          return failure();
        std::vector<Expr> shape;
        for (int k = 0; k < rank; ++k)
          shape.push_back(outType.isDynamicDim(k)
                              ? Halide::max(clampToInt((*target)[k]), 0)
                              : Expr(static_cast<int>(outType.getDimSize(k))));
        auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
        if (!dense || dense.getNumElements() != 1)
          return LogicalResult(
              op->emitOpError("expects a one-element dense value"));
        Expr v;
        Type element = dense.getElementType();
        if (isa<FloatType>(element))
          v = Halide::cast(
              ht, Expr(dense.getSplatValue<APFloat>().convertToDouble()));
        else if (element.isInteger(1))
          v = Halide::cast(ht, dense.getSplatValue<bool>() ? 1 : 0);
        else
          v = Halide::cast(ht,
                           Expr(dense.getSplatValue<APInt>().getSExtValue()));
        defineElementwise(op, name, funcs, shape,
                          [&](const std::vector<Expr> &) { return v; });
        return success();
      })
      .Case([&](RangeOp r) {
        FailureOr<std::vector<Expr>> start =
            knownValues(op, r.getStart(), "start");
        FailureOr<std::vector<Expr>> limit =
            knownValues(op, r.getLimit(), "limit");
        FailureOr<std::vector<Expr>> delta =
            knownValues(op, r.getDelta(), "delta");
        if (failed(start) || failed(limit) || failed(delta))
          return failure();
        Expr s = (*start)[0], l = (*limit)[0], d = (*delta)[0];
        // A length known before the run must fit the 32-bit extents.
        if (!s.type().is_float()) {
          Expr s64 = Halide::cast<int64_t>(s), l64 = Halide::cast<int64_t>(l),
               d64 = Halide::cast<int64_t>(d);
          Expr length = Halide::Internal::simplify(
              Halide::select(d64 > 0, (l64 - s64 + d64 - 1) / d64,
                             (s64 - l64 - d64 - 1) / (-d64)));
          if (const int64_t *n = Halide::Internal::as_const_int(length);
              n && *n > std::numeric_limits<int32_t>::max()) {
            op->emitOpError("has ")
                << *n
                << " elements: extents must lie in [0, 2^31 - 1] (the "
                   "generated code indexes with 32-bit integers)";
            return failure();
          }
        }
        Expr count;
        if (s.type().is_float())
          count = Halide::cast<int>(Halide::ceil(Halide::cast<double>(l - s) /
                                                 Halide::cast<double>(d)));
        else // ceil((l - s) / d) in integers; division rounds down.
          count = clampToInt(Halide::select(d > 0, (l - s + d - 1) / d,
                                            (s - l - d - 1) / (-d)));
        std::vector<Expr> shape = {
            outType.isDynamicDim(0)
                ? Halide::max(count, 0)
                : Expr(static_cast<int>(outType.getDimSize(0)))};
        defineElementwise(op, name, funcs, shape,
                          [&](const std::vector<Expr> &i) {
                            return s + Halide::cast(s.type(), i[0]) * d;
                          });
        return success();
      })
      .Case([&](PadOp p) {
        Tensor &in = get(p.getInput());
        FailureOr<std::vector<Expr>> amounts =
            knownValues(op, p.getPads(), "pad amounts");
        if (failed(amounts))
          return failure();
        std::vector<Expr> pads;
        for (const Expr &a : *amounts)
          pads.push_back(clampToInt(a));
        std::string mode = p.getMode().str();
        std::vector<Expr> shape;
        for (int k = 0; k < rank; ++k)
          shape.push_back(outType.isDynamicDim(k)
                              ? in.shape[k] + pads[k] + pads[rank + k]
                              : Expr(static_cast<int>(outType.getDimSize(k))));
        for (int k = 0; k < rank; ++k)
          if (mode != "constant")
            require(in.shape[k] > 0, "pad at " + name + ": mode '" + mode +
                                         "' needs a non-empty axis " +
                                         std::to_string(k));
        Expr fill = typedZero(in.type);
        if (Value v = p.getValue()) {
          Tensor &value = get(v);
          fill = value.call(std::vector<Expr>(value.rank(), 0));
        }
        defineElementwise(
            op, name, funcs, shape, [&](const std::vector<Expr> &i) {
              Expr inside = Halide::Internal::const_true();
              std::vector<Expr> src;
              for (int k = 0; k < rank; ++k) {
                Expr s = i[k] - pads[k];
                Expr n = in.shape[k];
                if (mode == "constant") {
                  inside = inside && s >= 0 && s < n;
                  s = Halide::clamp(s, 0, n - 1);
                } else if (mode == "edge") {
                  s = Halide::clamp(s, 0, n - 1);
                } else if (mode == "wrap") {
                  s = s % n; // Euclidean: in [0, n).
                } else {     // reflect: period 2(n - 1), the edge not repeated.
                  Expr period = Halide::max(2 * (n - 1), 1);
                  Expr m = s % period;
                  s = Halide::clamp(Halide::select(m < n, m, period - m), 0,
                                    n - 1);
                }
                src.push_back(s);
              }
              Expr v = in.call(src);
              return mode == "constant"
                         ? Halide::select(inside, v,
                                          Halide::cast(v.type(), fill))
                         : v;
            });
        return success();
      })
      .Case([&](TriluOp t) {
        Tensor &in = get(t.getInput());
        Expr k = Expr(int64_t(0));
        if (Value kv = t.getK())
          k = get(kv).call({});
        bool upper = t.getUpper();
        defineElementwise(
            op, name, funcs, in.shape, [&](const std::vector<Expr> &i) {
              Expr diff = Halide::cast<int64_t>(i[rank - 1] - i[rank - 2]);
              Expr keep = upper ? diff >= k : diff <= k;
              return Halide::select(keep, in.call(i), typedZero(in.type));
            });
        return success();
      })
      .Default([](Operation *) -> std::optional<LogicalResult> {
        return std::nullopt;
      });
}

//===----------------------------------------------------------------------===//
// Reshape and Slice: extents from known shape values
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineReshape(Operation *op,
                                             const std::string &name,
                                             OpFuncs &funcs,
                                             const std::vector<Expr> &spec) {
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  Tensor &in = get(op->getOperand(0));
  int rank = outType.getRank();
  if (static_cast<int>(spec.size()) != rank)
    return op->emitOpError("has a target shape of ")
           << spec.size() << " entries for a result of rank " << rank;
  Expr total = 1;
  for (const Expr &e : in.shape)
    total = total * e;
  // ONNX rules: 0 copies the input's extent, -1 is inferred.
  std::vector<Expr> entry(rank), resolved(rank);
  for (int k = 0; k < rank; ++k) {
    entry[k] = Halide::cast<int64_t>(spec[k]);
    if (!outType.isDynamicDim(k)) {
      resolved[k] = static_cast<int>(outType.getDimSize(k));
      continue;
    }
    Expr copy = k < in.rank() ? in.shape[k] : Expr(0);
    resolved[k] = Halide::select(entry[k] == 0, copy, clampToInt(entry[k]));
  }
  Expr known = 1;
  for (int k = 0; k < rank; ++k)
    known =
        known *
        simplifyKnown(toExtent(Halide::select(entry[k] == -1, 1, resolved[k])));
  // Division by zero gives zero in Halide; the element-count check reports it.
  Expr inferred = divideExact(simplifyKnown(total), simplifyKnown(known));
  std::vector<Expr> shape(rank);
  for (int k = 0; k < rank; ++k)
    shape[k] = outType.isDynamicDim(k)
                   ? simplifyKnown(toExtent(
                         Halide::select(entry[k] == -1, inferred, resolved[k])))
                   : resolved[k];
  Expr outTotal = 1;
  for (const Expr &e : shape)
    outTotal = outTotal * e;
  require(outTotal == total, "reshape at " + name +
                                 ": the target shape does not hold the "
                                 "input's element count");
  // Axes in groups whose extents multiply to the same count on both sides
  // ([B, S, 768] → [B, S, 12, 64]: {B}, {S}, {768 → 12 × 64}): each group
  // is indexed on its own, so a split is affine (h · 64 + d) and a merge
  // divides only within the group. Where extents cannot be compared, the
  // rest is one group.
  struct Group {
    int inBegin, inEnd, outBegin, outEnd;
  };
  std::vector<Group> groups;
  auto constant = [](const Expr &e) -> std::optional<int64_t> {
    if (const int64_t *c = Halide::Internal::as_const_int(e))
      return *c;
    return std::nullopt;
  };
  int i = 0, j = 0, inRank = in.rank();
  while (i < inRank && j < rank) {
    Group g{i, i + 1, j, j + 1};
    Expr pin = in.shape[i], pout = shape[j];
    bool closed = false;
    while (true) {
      Expr a = simplifyKnown(pin), b = simplifyKnown(pout);
      if (Halide::Internal::can_prove(a == b)) {
        closed = true;
        break;
      }
      std::optional<int64_t> ca = constant(a), cb = constant(b);
      if (!ca || !cb)
        break;
      if (*ca < *cb && g.inEnd < inRank)
        pin = pin * in.shape[g.inEnd++];
      else if (*cb < *ca && g.outEnd < rank)
        pout = pout * shape[g.outEnd++];
      else
        break;
    }
    if (!closed) {
      groups.push_back({g.inBegin, inRank, g.outBegin, rank});
      i = inRank;
      j = rank;
      break;
    }
    groups.push_back(g);
    i = g.inEnd;
    j = g.outEnd;
  }
  // Trailing axes of extent 1 on either side join the last group.
  if (groups.empty())
    groups.push_back({0, inRank, 0, rank});
  groups.back().inEnd = inRank;
  groups.back().outEnd = rank;
  defineElementwise(op, name, funcs, shape, [&](const std::vector<Expr> &idx) {
    std::vector<Expr> inIdx(inRank);
    for (const Group &g : groups) {
      // Row-major position within the group, then the input's index.
      Expr flat = 0;
      for (int k = g.outBegin; k < g.outEnd; ++k)
        flat = g.outEnd - g.outBegin == 1 ? idx[k] : flat * shape[k] + idx[k];
      for (int k = g.inEnd - 1; k >= g.inBegin; --k) {
        inIdx[k] = k == g.inBegin ? flat : flat % in.shape[k];
        flat = flat / in.shape[k];
      }
    }
    return in.call(inIdx);
  });
  return success();
}

LogicalResult PipelineBuilder::defineSlice(SliceOp op, const std::string &name,
                                           OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  auto outType = op.getType();
  FailureOr<std::vector<Expr>> starts =
      knownValues(op, op.getStarts(), "starts");
  FailureOr<std::vector<Expr>> ends = knownValues(op, op.getEnds(), "ends");
  if (failed(starts) || failed(ends))
    return failure();
  ArrayRef<int64_t> axes = op.getAxes(), steps = op.getSteps();
  if (starts->size() != axes.size() || ends->size() != axes.size())
    return op.emitOpError("expects one start and one end per axis");
  std::vector<Expr> shape = in.shape, first(in.rank(), Expr(0));
  std::vector<int64_t> stride(in.rank(), 1);
  // Keeps the arithmetic below clear of int64 overflow (ends are often
  // INT64_MAX for "to the end").
  const int64_t big = int64_t(1) << 40;
  for (auto [j, axis] : llvm::enumerate(axes)) {
    Expr dim = Halide::cast<int64_t>(in.shape[axis]);
    Expr s = Halide::clamp(Halide::cast<int64_t>((*starts)[j]), Expr(-big),
                           Expr(big));
    Expr e =
        Halide::clamp(Halide::cast<int64_t>((*ends)[j]), Expr(-big), Expr(big));
    s = Halide::select(s < 0, s + dim, s);
    e = Halide::select(e < 0, e + dim, e);
    int64_t step = steps[j];
    Expr count;
    if (step > 0) {
      s = Halide::clamp(s, Expr(int64_t(0)), dim);
      e = Halide::clamp(e, Expr(int64_t(0)), dim);
      count = (e - s + Expr(step - 1)) / Expr(step);
    } else {
      s = Halide::clamp(s, Expr(int64_t(0)), dim - 1);
      e = Halide::clamp(e, Expr(int64_t(-1)), dim - 1);
      count = (s - e + Expr(-step - 1)) / Expr(-step);
    }
    // A non-empty slice starts inside the axis; an empty one may start at
    // its end, which must not become an access out of bounds.
    first[axis] = Halide::cast<int>(
        step > 0 ? Halide::max(Halide::min(s, dim - 1), Expr(int64_t(0))) : s);
    stride[axis] = step;
    shape[axis] = outType.isDynamicDim(axis)
                      ? Halide::Internal::simplify(Halide::cast<int>(
                            Halide::max(count, Expr(int64_t(0)))))
                      : Expr(static_cast<int>(outType.getDimSize(axis)));
  }
  defineElementwise(op, name, funcs, shape, [&](const std::vector<Expr> &i) {
    std::vector<Expr> inIdx(in.rank());
    for (int k = 0; k < in.rank(); ++k)
      inIdx[k] = stride[k] == 1 && is_const_zero(first[k])
                     ? i[k]
                     : first[k] + i[k] * static_cast<int>(stride[k]);
    return in.call(inIdx);
  });
  return success();
}

//===----------------------------------------------------------------------===//
// Scatters
//===----------------------------------------------------------------------===//

namespace {
/// The row-major offset of `index` in `shape`; nullopt out of range.
std::optional<int64_t> rowMajor(ArrayRef<int64_t> index,
                                ArrayRef<int64_t> shape) {
  int64_t offset = 0;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (index[k] < 0 || index[k] >= shape[k])
      return std::nullopt;
    offset = offset * shape[k] + index[k];
  }
  return offset;
}

Expr combineScatter(StringRef reduction, Expr old, Expr update);

/// The elements of a scatter whose operands are all known with constant
/// indices, else nullopt.
std::optional<std::vector<Expr>> scatterKnown(Operation *op, const Tensor &data,
                                              const Tensor &indices,
                                              const Tensor &updates,
                                              StringRef reduction) {
  if (!data.values || !indices.values || !updates.values)
    return std::nullopt;
  std::vector<int64_t> idx;
  for (const Expr &e : *indices.values) {
    const int64_t *c = Halide::Internal::as_const_int(
        Halide::Internal::simplify(Halide::cast<int64_t>(e)));
    if (!c)
      return std::nullopt;
    idx.push_back(*c);
  }
  ArrayRef<int64_t> shape = data.valueShape, ushape = updates.valueShape;
  int64_t count = 1;
  for (int64_t e : ushape)
    count *= e;
  if (static_cast<int64_t>(updates.values->size()) != count)
    return std::nullopt;
  std::vector<Expr> out = *data.values;
  auto scatterElements = dyn_cast<ScatterElementsOp>(op);
  int64_t tuple = indices.valueShape.empty() ? 1 : indices.valueShape.back();
  std::vector<int64_t> u(ushape.size(), 0);
  for (int64_t n = 0; n < count; ++n) {
    // u: the n-th index of `updates` in row-major order.
    for (int64_t k = static_cast<int64_t>(ushape.size()) - 1, rest = n; k >= 0;
         --k) {
      u[k] = rest % ushape[k];
      rest /= ushape[k];
    }
    std::vector<int64_t> target(shape.size());
    if (scatterElements) {
      target.assign(u.begin(), u.end());
      int64_t axis = scatterElements.getAxis();
      std::optional<int64_t> at = rowMajor(u, indices.valueShape);
      if (!at || target.size() != shape.size())
        return std::nullopt;
      target[axis] = idx[*at] < 0 ? idx[*at] + shape[axis] : idx[*at];
    } else {
      size_t q = indices.valueShape.size() - 1;
      for (int64_t k = 0; k < tuple; ++k) {
        int64_t v =
            idx[(q ? *rowMajor(
                         ArrayRef<int64_t>(u).take_front(q),
                         ArrayRef<int64_t>(indices.valueShape).take_front(q))
                   : 0) *
                    tuple +
                k];
        target[k] = v < 0 ? v + shape[k] : v;
      }
      for (size_t k = tuple; k < shape.size(); ++k)
        target[k] = u[q + k - tuple];
    }
    std::optional<int64_t> at = rowMajor(target, shape);
    if (!at)
      return std::nullopt;
    out[*at] = combineScatter(reduction, out[*at], (*updates.values)[n]);
  }
  return out;
}

/// `old` combined with `update` by a scatter's reduction.
Expr combineScatter(StringRef reduction, Expr old, Expr update) {
  if (reduction == "add")
    return old + update;
  if (reduction == "mul")
    return old * update;
  if (reduction == "max")
    return Halide::max(old, update);
  if (reduction == "min")
    return Halide::min(old, update);
  return update;
}
} // namespace

LogicalResult PipelineBuilder::defineScatter(Operation *op,
                                             const std::string &name,
                                             OpFuncs &funcs) {
  Tensor &data = get(op->getOperand(0));
  Tensor &indices = get(op->getOperand(1));
  Tensor &updates = get(op->getOperand(2));
  auto scatterElements = dyn_cast<ScatterElementsOp>(op);
  StringRef reduction = scatterElements ? scatterElements.getReduction()
                                        : cast<ScatterNdOp>(op).getReduction();
  Halide::Type ht = *toHalideType(
      cast<RankedTensorType>(op->getResult(0).getType()).getElementType());
  int rank = data.rank();
  std::vector<Var> vars = makeVars(rank, name);
  Func acc(name + "_scatter");
  acc(vars) = data.call(onnxIndex(vars));

  // One update per element of `updates`, in row-major order (the RDom's
  // first variable is the innermost loop: the last ONNX axis).
  std::vector<Halide::Range> ranges;
  for (int k = updates.rank() - 1; k >= 0; --k)
    ranges.push_back(Halide::Range(0, updates.shape[k]));
  if (ranges.empty())
    ranges.push_back(Halide::Range(0, 1));
  RDom r(ranges, name + "_r");
  std::vector<Expr> u; // ONNX-order index into `updates`
  for (int k = updates.rank() - 1; k >= 0; --k)
    u.insert(u.begin(), r[updates.rank() - 1 - k]);
  auto inRange = [&](Expr index, int axis) {
    Expr extent = data.shape[axis];
    index = Halide::select(index < 0, index + extent, index);
    return Halide::clamp(index, 0, Halide::max(extent - 1, 0));
  };
  std::vector<Expr> target(rank);
  if (scatterElements) {
    int axis = static_cast<int>(scatterElements.getAxis());
    for (int k = 0; k < rank; ++k)
      target[k] = k == axis ? inRange(asInt(indices.call(u)), k)
                            : Halide::clamp(u[k], 0, data.shape[k] - 1);
  } else {
    // indices [q..., K]; updates [q..., data.shape[K:]].
    int q = indices.rank() - 1;
    int tuple = static_cast<int>(
        cast<RankedTensorType>(op->getOperand(1).getType()).getShape().back());
    std::vector<Expr> batch(u.begin(), u.begin() + q);
    for (int k = 0; k < tuple; ++k) {
      std::vector<Expr> at = batch;
      at.push_back(k);
      target[k] = inRange(asInt(indices.call(at)), k);
    }
    for (int k = tuple; k < rank; ++k)
      target[k] = Halide::clamp(u[q + k - tuple], 0, data.shape[k] - 1);
  }
  std::vector<Expr> lhs(target.rbegin(), target.rend());
  Expr update = updates.call(u);
  acc(lhs) =
      reduction == "none"
          ? update
          : narrow(combineScatter(reduction, widen(acc(lhs)), widen(update)),
                   ht);
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(vars) = acc(vars);
  t.shape = data.shape;
  funcs.main = t.func;
  funcs.helpers = {acc};
  // Known elements (a shape vector with one entry replaced, as exports
  // write `shape[k] = n`) are scattered here too, so that readers of
  // shapes see them.
  if (std::optional<std::vector<Expr>> known =
          scatterKnown(op, data, indices, updates, reduction)) {
    t.values = std::move(*known);
    t.valueShape = data.valueShape;
  }
  tensors[op->getResult(0)] = t;
  return success();
}

//===----------------------------------------------------------------------===//
// Resize
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineResize(ResizeOp op,
                                            const std::string &name,
                                            OpFuncs &funcs) {
  Tensor &x = get(op.getInput());
  auto inType = op.getInput().getType(), outType = op.getType();
  Halide::Type ht = *toHalideType(outType.getElementType());
  StringRef mode = op.getMode(), coordinates = op.getCoordinateMode(),
            nearest = op.getNearestMode();
  if (mode != "nearest" && !ht.is_float() && !ht.is_bfloat())
    return op.emitOpError("interpolates only floating-point elements, got ")
           << outType.getElementType();
  int rank = x.rank();
  ArrayRef<double> scales = op.getScales();
  std::vector<Expr> shape(rank);
  for (int d = 0; d < rank; ++d) {
    if (!outType.isDynamicDim(d))
      shape[d] = static_cast<int>(outType.getDimSize(d));
    else if (scales[d] > 0.0)
      shape[d] = Halide::cast<int>(
          Halide::floor(Halide::cast<double>(x.shape[d]) * Expr(scales[d])));
    else
      return op.emitOpError("has a dynamic output extent on axis ")
             << d << " without a scale";
  }
  std::vector<Var> vars = makeVars(rank, name);
  std::vector<Expr> o = onnxIndex(vars);
  Halide::Type f32 = Halide::Float(32);
  // Per axis: the taps (input indices, clamped) and their weights.
  std::vector<std::vector<std::pair<Expr, Expr>>> taps(rank);
  for (int d = 0; d < rank; ++d) {
    // An axis kept as it is (scale 1, or sizes equal to the input's):
    // every mode reads the element itself there.
    bool identity = (scales[d] == 1.0 || scales[d] == 0.0) &&
                    !inType.isDynamicDim(d) &&
                    inType.getDimSize(d) == outType.getDimSize(d);
    if (identity) {
      taps[d] = {{o[d], Halide::cast(f32, 1)}};
      continue;
    }
    // Coordinates in float64, evaluated as written (no reassociation: a
    // coordinate exactly halfway must round as ONNX rounds it). The resized
    // length is in · scale where scales are given, the output extent where
    // sizes are.
    Halide::Type f64 = Halide::Float(64);
    Expr half(0.5), one(1.0), zero(0.0);
    Expr in = Halide::cast(f64, x.shape[d]);
    Expr outInt = Halide::cast(f64, shape[d]);
    Expr scale = scales[d] > 0.0 ? Expr(scales[d]) : outInt / in;
    Expr out = scales[d] > 0.0 ? in * scale : outInt;
    Expr xo = Halide::cast(f64, o[d]);
    Expr c;
    if (coordinates == "half_pixel")
      c = (xo + half) / scale - half;
    else if (coordinates == "pytorch_half_pixel")
      c = Halide::select(out > one, (xo + half) / scale - half, zero);
    else if (coordinates == "align_corners")
      c = Halide::select(out <= one, zero,
                         xo * (in - one) / Halide::max(out - one, Expr(1e-9)));
    else if (coordinates == "asymmetric")
      c = xo / scale;
    else if (coordinates == "tf_half_pixel_for_nn")
      c = (xo + half) / scale;
    else { // half_pixel_symmetric
      Expr adjustment = outInt / out;
      Expr offset = in / Expr(2.0) * (one - adjustment);
      c = offset + (xo + half) / scale - half;
    }
    c = Halide::strict_float(c);
    Expr last = x.shape[d] - 1;
    auto clampIndex = [&](Expr i) { return Halide::clamp(i, 0, last); };
    if (mode == "nearest") {
      Expr half(0.5);
      Expr r = nearest == "round_prefer_ceil" ? Halide::floor(c + half)
               : nearest == "floor"           ? Halide::floor(c)
               : nearest == "ceil"            ? Halide::ceil(c)
                                              : Halide::ceil(c - half);
      taps[d] = {{clampIndex(Halide::cast<int>(r)), Halide::cast(f32, 1)}};
      continue;
    }
    Expr base = Halide::floor(c);
    Expr t = Halide::cast(f32, c - base);
    Expr i0 = Halide::cast<int>(base);
    if (mode == "linear") {
      taps[d] = {{clampIndex(i0), 1.0f - t}, {clampIndex(i0 + 1), t}};
      continue;
    }
    // Cubic (Keys, coefficient a), taps i0 - 1 ... i0 + 2.
    float a = static_cast<float>(op.getCubicA().convertToDouble());
    auto far = [&](Expr s) { // 1 <= |s| < 2
      return ((a * s - 5.0f * a) * s + 8.0f * a) * s - 4.0f * a;
    };
    auto near = [&](Expr s) { // |s| <= 1
      return ((a + 2.0f) * s - (a + 3.0f)) * s * s + 1.0f;
    };
    std::vector<Expr> w = {far(t + 1.0f), near(t), near(1.0f - t),
                           far(2.0f - t)};
    if (op.getExcludeOutside()) {
      Expr total = Halide::cast(f32, 0);
      for (int k = 0; k < 4; ++k) {
        Expr i = i0 - 1 + k;
        w[k] = Halide::select(i >= 0 && i <= last, w[k], 0.0f);
        total += w[k];
      }
      for (Expr &wk : w)
        wk = wk / total;
    }
    for (int k = 0; k < 4; ++k)
      taps[d].push_back({clampIndex(i0 - 1 + k), w[k]});
  }
  // Σ over every combination of the axes' taps of Π weights · x.
  Expr value;
  std::vector<Expr> at(rank);
  std::function<void(int, Expr)> visit = [&](int d, Expr weight) {
    if (d == rank) {
      Expr term = mode == "nearest"
                      ? x.call(at)
                      : Halide::cast(f32, widen(x.call(at))) * weight;
      value = value.defined() ? value + term : term;
      return;
    }
    for (auto &[index, w] : taps[d]) {
      at[d] = index;
      visit(d + 1, taps[d].size() == 1 ? weight : weight * w);
    }
  };
  visit(0, Halide::cast(f32, 1));
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(vars) = mode == "nearest" ? value : narrow(value, ht);
  t.shape = shape;
  funcs.main = t.func;
  tensors[op.getResult()] = t;
  return success();
}
