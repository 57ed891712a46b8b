"""banter's slot-cache decoder graph: the same GPT-2 weights, a key/value cache the caller owns.

The standard "decoder with past" graph (onnx/model.onnx, what optimum, transformers.js and banter's
fallback read) returns present = concat(past, new) for every layer: each step copies the whole cache
and hands it back to the caller, and on small models the graph's shape arithmetic (Shape, Gather,
Unsqueeze, Concat chains from tracing) costs as much as the matrix products. This graph, written
node by node:
  inputs  input_ids, position_ids [batch, seq]; attention_mask [batch, slots + seq];
          cache.{i}.key|value [batch, heads, slots, head_dim]: preallocated slots, filled or not
  outputs logits [batch, seq, vocab]; log_normalizer [batch, seq]: log sum exp of each position's logits;
          cache_update.{i}.key|value [batch, heads, seq, head_dim]
The caller writes each update into its buffers at the next free slot and masks the unused slots
with 0; attention reads the slots in place (scores against the cache and against the new tokens
are computed apart and softmaxed together), so nothing proportional to the cache is copied.

Both graphs read one weights file, onnx/model.onnx_data (ONNX external data), so the folder holds
the weights once.

CLI: converts model folders whose onnx/model.onnx holds its weights inline:
  /usr/bin/python3 tools/gpt2/slot_cache.py models/banter-chat models/banter-chat-backward
"""
from __future__ import annotations

import argparse
import json
import math
import os
from typing import Dict, List

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SLOT_CACHE_FILE = "decoder_slot_cache.onnx"
WEIGHTS_FILE = "model.onnx_data"
OPSET = 17  # LayerNormalization
# Masked scores: finite, so that a row with every key masked (a left pad's own query) stays finite.
MASKED = -1e9


class _GraphBuilder:
    def __init__(self) -> None:
        self.nodes: List[onnx.NodeProto] = []
        self.initializers: List[onnx.TensorProto] = []

    def const(self, name: str, value) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: List[str], outputs: List[str] | None = None, **attributes):
        outputs = outputs or [f"{op_type.lower()}_{len(self.nodes)}"]
        self.nodes.append(helper.make_node(op_type, inputs, outputs, **attributes))
        return outputs[0] if len(outputs) == 1 else outputs


def build_slot_cache_graph(weights: Dict[str, np.ndarray], n_layer: int, n_head: int, eps: float = 1e-5,
                           prefix: str = "model.transformer.") -> onnx.ModelProto:
    """The graph over `weights` (GPT-2 state-dict names under `prefix`), initializers inline."""
    wte = weights[prefix + "wte.weight"]
    vocab, embd = wte.shape
    head_dim = embd // n_head
    g = _GraphBuilder()
    for name, array in weights.items():
        if name.startswith(prefix):
            g.const(name, array.astype(np.float32))
    w = lambda name: prefix + name  # noqa: E731
    head_dims = g.const("head_dims", np.array([n_head, head_dim], np.int64))
    rows_shape = g.const("shape_rows", np.array([-1, embd], np.int64))
    one = g.const("one", np.array(1.0, np.float32))
    masked = g.const("masked", np.array(MASKED, np.float32))
    scale = g.const("scale", np.array(1 / math.sqrt(head_dim), np.float32))
    qkv_split = g.const("qkv_split", np.array([embd, embd, embd], np.int64))
    i1, i2, i3 = (g.const(f"index_{i}", np.array([i], np.int64)) for i in (1, 2, 3))
    axes_1_2 = g.const("axes_1_2", np.array([1, 2], np.int64))
    vocab_dim = g.const("vocab_dim", np.array([vocab], np.int64))
    last_axis = g.const("last_axis", np.array([-1], np.int64))

    # Sizes computed once per run: slots, new tokens, the logits' shape.
    ids_shape = g.op("Shape", ["input_ids"])
    slots = g.op("Slice", [g.op("Shape", ["cache.0.key"]), i2, i3])
    seq = g.op("Slice", [ids_shape, i1, i2])
    score_split = g.op("Concat", [slots, seq], axis=0)
    logits_shape = g.op("Concat", [ids_shape, vocab_dim], axis=0)
    heads_shape = g.op("Concat", [ids_shape, head_dims], axis=0)
    # Additive mask [batch, 1, seq, slots + seq]: the attention mask over every key, plus causality
    # among the new tokens (slots are all before them).
    mask_bias = g.op("Unsqueeze", [g.op("Mul", [g.op("Sub", [one, g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)]), masked]), axes_1_2])
    square = g.op("ConstantOfShape", [g.op("Concat", [seq, seq], axis=0)], value=numpy_helper.from_array(np.array([1.0], np.float32)))
    future = g.op("Mul", [g.op("Sub", [one, g.op("Trilu", [square], upper=0)]), masked])
    open_slots = g.op("ConstantOfShape", [g.op("Concat", [seq, slots], axis=0)], value=numpy_helper.from_array(np.array([0.0], np.float32)))
    bias = g.op("Add", [mask_bias, g.op("Concat", [open_slots, future], axis=1)])

    def split_heads(rows: str, output: str | None = None) -> str:
        return g.op("Transpose", [g.op("Reshape", [rows, heads_shape])], [output] if output else None, perm=[0, 2, 1, 3])

    def linear(rows: str, name: str) -> str:
        return g.op("Gemm", [rows, w(name + ".weight"), w(name + ".bias")])

    # The residual stream is kept as rows [batch * seq, embd], so that every projection is one Gemm
    # with its bias.
    x = g.op("Reshape", [g.op("Add", [g.op("Gather", [w("wte.weight"), "input_ids"]),
                                     g.op("Gather", [w("wpe.weight"), "position_ids"])]), rows_shape])
    for layer in range(n_layer):
        block = f"h.{layer}."
        normed = g.op("LayerNormalization", [x, w(block + "ln_1.weight"), w(block + "ln_1.bias")], axis=-1, epsilon=eps)
        query, key, value = g.op("Split", [linear(normed, block + "attn.c_attn"), qkv_split],
                                 [f"query_{layer}", f"key_{layer}", f"value_{layer}"], axis=1)
        query = split_heads(g.op("Mul", [query, scale]))
        key = split_heads(key, f"cache_update.{layer}.key")
        value = split_heads(value, f"cache_update.{layer}.value")
        cached = g.op("MatMul", [query, g.op("Transpose", [f"cache.{layer}.key"], perm=[0, 1, 3, 2])])
        fresh = g.op("MatMul", [query, g.op("Transpose", [key], perm=[0, 1, 3, 2])])
        weights_all = g.op("Softmax", [g.op("Add", [g.op("Concat", [cached, fresh], axis=-1), bias])], axis=-1)
        on_cache, on_fresh = g.op("Split", [weights_all, score_split], [f"on_cache_{layer}", f"on_fresh_{layer}"], axis=-1)
        attended = g.op("Add", [g.op("MatMul", [on_cache, f"cache.{layer}.value"]), g.op("MatMul", [on_fresh, value])])
        merged = g.op("Reshape", [g.op("Transpose", [attended], perm=[0, 2, 1, 3]), rows_shape])
        x = g.op("Add", [x, linear(merged, block + "attn.c_proj")])
        normed = g.op("LayerNormalization", [x, w(block + "ln_2.weight"), w(block + "ln_2.bias")], axis=-1, epsilon=eps)
        # GPT-2's gelu_new is the tanh approximation of GELU: onnxruntime's FastGelu.
        hidden = g.op("FastGelu", [linear(normed, block + "mlp.c_fc")], domain="com.microsoft")
        x = g.op("Add", [x, linear(hidden, block + "mlp.c_proj")])
    x = g.op("LayerNormalization", [x, w("ln_f.weight"), w("ln_f.bias")], axis=-1, epsilon=eps)
    # The tied embedding read transposed by Gemm: no transposed copy of it in memory.
    logits = g.op("Reshape", [g.op("Gemm", [x, w("wte.weight")], transB=1), logits_shape], ["logits"])
    # Each position's log-normaliser, log sum exp over the vocabulary: every candidate's log-probability
    # needs it, and here it is one vectorized pass instead of a scalar loop per row in JavaScript.
    peak = g.op("ReduceMax", [logits], axes=[-1], keepdims=1)
    mass = g.op("ReduceSum", [g.op("Exp", [g.op("Sub", [logits, peak])]), last_axis], keepdims=0)
    g.op("Add", [g.op("Squeeze", [peak, last_axis]), g.op("Log", [mass])], ["log_normalizer"])

    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "slots + sequence_length"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", vocab]),
               helper.make_tensor_value_info("log_normalizer", TensorProto.FLOAT, ["batch_size", "sequence_length"])]
    for layer in range(n_layer):
        for kind in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"cache.{layer}.{kind}", TensorProto.FLOAT,
                                                        ["batch_size", n_head, "slots", head_dim]))
            outputs.append(helper.make_tensor_value_info(f"cache_update.{layer}.{kind}", TensorProto.FLOAT,
                                                         ["batch_size", n_head, "sequence_length", head_dim]))
    graph = helper.make_graph(g.nodes, "banter-gpt2-slot-cache", inputs, outputs, g.initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)], producer_name="banter")


def _external_locations(model: onnx.ModelProto) -> Dict[str, List[onnx.StringStringEntryProto]]:
    return {tensor.name: list(tensor.external_data) for tensor in model.graph.initializer
            if tensor.data_location == TensorProto.EXTERNAL}


def write_decoder_pair(onnx_dir: str, n_layer: int, n_head: int, eps: float = 1e-5,
                       weights: Dict[str, np.ndarray] | None = None) -> None:
    """Rewrites `onnx_dir/model.onnx` with its weights in model.onnx_data and writes the slot-cache
    graph beside it, reading the same bytes of that file. `weights` (state-dict names under "model.")
    default to model.onnx's initializers, which only works where the exporter kept every weight
    under its own name (torch merges equal tensors, as in untrained models, into one)."""
    standard_path = os.path.join(onnx_dir, "model.onnx")
    standard = onnx.load(standard_path)  # inline or external weights: both load whole
    if weights is None:
        weights = {tensor.name: numpy_helper.to_array(tensor) for tensor in standard.graph.initializer}
    weights_path = os.path.join(onnx_dir, WEIGHTS_FILE)
    if os.path.exists(weights_path):
        os.remove(weights_path)  # onnx appends to an existing external data file
    onnx.save(standard, standard_path, save_as_external_data=True, all_tensors_to_one_file=True,
              location=WEIGHTS_FILE, size_threshold=1024)
    shared = _external_locations(onnx.load(standard_path, load_external_data=False))
    slot_cache = build_slot_cache_graph(weights, n_layer, n_head, eps)
    # Weights the standard graph does not hold under their own name stay inline in this graph.
    for tensor in slot_cache.graph.initializer:
        if tensor.name in shared:
            tensor.ClearField("raw_data")
            tensor.data_location = TensorProto.EXTERNAL
            tensor.external_data.extend(shared[tensor.name])
    slot_path = os.path.join(onnx_dir, SLOT_CACHE_FILE)
    onnx.save(slot_cache, slot_path)
    onnx.checker.check_model(slot_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="model folders with config.json and onnx/model.onnx")
    for folder in parser.parse_args().folders:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        write_decoder_pair(os.path.join(folder, "onnx"), config["n_layer"], config["n_head"],
                           config.get("layer_norm_epsilon", 1e-5))
        print(json.dumps({"folder": folder, "files": sorted(os.listdir(os.path.join(folder, "onnx")))}))


if __name__ == "__main__":
    main()
