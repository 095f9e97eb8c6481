"""Transformer and recurrent models for the sequence-model tests, built in the `hf` tool
environment (transformers beside the pinned torch) with seeded random weights:

- tiny BERT, GPT-2, DistilBERT and ViT built by `transformers` from their public config classes
  (eager attention, no cache), the way users get these models;
- a 2-layer LSTM and a bidirectional GRU sequence classifier in plain torch.

    <hf env python> tests/parity/transformer_zoo.py OUT_DIR [NAME ...]
writes OUT_DIR/<name>.pt2 (torch.export with the batch and the sequence length left free where the
model allows; the example batch is 2, as torch.export fixes dimensions of size 1) and
OUT_DIR/transformer_zoo.json: per model its inputs (name, shape with -1 for a free dimension, dtype,
the valid range of integer inputs).
"""

import json
import os
import sys

import torch
from torch import nn

VOCAB = 100
SEQ = 8


def _text(cls, cfg):
    cfg._attn_implementation = "eager"
    cfg.return_dict = False  # tuples out: a ModelOutput in the .pt2 would need transformers to load
    model = cls(cfg).eval()
    return model, {"input_ids": ((2, SEQ), "int64", [0, VOCAB - 1])}


def bert():
    from transformers import BertConfig, BertModel

    return _text(BertModel, BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                       intermediate_size=64, max_position_embeddings=64))  # fmt: skip


def gpt2():
    from transformers import GPT2Config, GPT2Model

    cfg = GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=64, use_cache=False,
                     bos_token_id=0, eos_token_id=0)  # fmt: skip
    return _text(GPT2Model, cfg)


def distilbert():
    from transformers import DistilBertConfig, DistilBertModel

    return _text(DistilBertModel, DistilBertConfig(vocab_size=VOCAB, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                                                   max_position_embeddings=64))  # fmt: skip


def vit():
    from transformers import ViTConfig, ViTModel

    cfg = ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=64)  # fmt: skip
    cfg._attn_implementation = "eager"
    cfg.return_dict = False
    return ViTModel(cfg).eval(), {"pixel_values": ((2, 3, 32, 32), "float32", None)}


class LSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 32, num_layers=2, batch_first=True)
        self.head = nn.Linear(32, 5)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.head(y[:, -1])


class GRUTagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(16, 24, batch_first=True, bidirectional=True)
        self.head = nn.Linear(48, 7)

    def forward(self, x):
        y, _ = self.gru(x)
        return self.head(y)


def lstm():
    return LSTMClassifier().eval(), {"x": ((2, SEQ, 16), "float32", None)}


def gru():
    return GRUTagger().eval(), {"x": ((2, SEQ, 16), "float32", None)}


MODELS = {"bert": bert, "gpt2": gpt2, "distilbert": distilbert, "vit": vit, "lstm": lstm, "gru": gru}


def example(inputs):
    out = []
    for shape, dtype, rng in inputs.values():
        if dtype == "int64":
            out.append(torch.randint(rng[0], rng[1] + 1, shape, generator=torch.Generator().manual_seed(0)))
        else:
            out.append(torch.randn(shape, generator=torch.Generator().manual_seed(0)))
    return tuple(out)


def export(model, inputs):
    """torch.export with the batch and a sequence length free, else the batch only, else static."""
    args = example(inputs)
    batch = torch.export.Dim("batch", min=1, max=64)
    seq = torch.export.Dim("seq", min=2, max=64)
    for free_seq in (True, False):
        dyn = []
        for shape, _, _ in inputs.values():
            d = {0: batch}
            if free_seq and len(shape) in (2, 3) and shape[1] == SEQ:
                d[1] = seq
            dyn.append(d)
        try:
            return torch.export.export(model, args, dynamic_shapes=tuple(dyn), strict=False), dyn
        except Exception as exc:  # the model's code fixes one of these dimensions
            sys.stderr.write("%s: %s\n" % (type(model).__name__, str(exc).splitlines()[0][:200]))
    return torch.export.export(model, args, strict=False), [{} for _ in inputs]


def main(out_dir, names):
    os.makedirs(out_dir, exist_ok=True)
    index = []
    for name in names or list(MODELS):
        torch.manual_seed(0)
        model, inputs = MODELS[name]()
        ep, dyn = export(model, inputs)
        torch.export.save(ep, os.path.join(out_dir, name + ".pt2"))
        specs = []
        for (input_name, (shape, dtype, rng)), d in zip(inputs.items(), dyn):
            specs.append({"name": input_name, "shape": [-1 if i in d else s for i, s in enumerate(shape)],
                          "example_shape": list(shape), "dtype": dtype, "range": rng})  # fmt: skip
        index.append({"name": name, "inputs": specs})
    with open(os.path.join(out_dir, "transformer_zoo.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
