"""DeepSeekMoE-style model for training on the CPU, plus HF-layout export/import.

Semantics follow HF `model_type: deepseek` (see docs ARCHITECTURE.md):
pre-norm blocks, RMSNorm, rotate-half RoPE over the full head dim, causal MHA
without biases, SiLU-gated MLPs down(silu(gate x) * up x), layer 0.. <
first_k_dense_replace dense, then MoE: softmax gate over routed experts, top-k,
weights = raw probabilities (norm_topk_prob false), shared experts (one MLP of
width moe_intermediate_size * n_shared_experts) added for every token.

`model_type: deepseek_v3` (HF DeepseekV3, one group: n_group 1) swaps in
multi-head latent attention (q_proj, kv_a_proj_with_mqa -> normed latent +
one shared RoPE key on interleaved pairs, kv_b_proj -> per-head keys/values)
and the sigmoid gate: experts are selected by score + e_score_correction_bias,
weighted by the unbiased scores renormalised, times routed_scaling_factor. The
bias is no parameter: `update_bias` moves it after every step
(auxiliary-loss-free balancing, DeepSeek-V3 paper eq. 16-17).
"""
import json, math, os, struct
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rope_cos_sin(seq, head_dim, theta, dtype):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    t = torch.arange(seq, dtype=torch.float64)
    freqs = torch.outer(t, inv)
    emb = torch.cat([freqs, freqs], -1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rope_pairs_cos_sin(seq, rope_dim, theta, dtype):
    """One angle per interleaved pair (x0, x1), (x2, x3), ...: [seq, rope_dim / 2]."""
    inv = 1.0 / (theta ** (torch.arange(0, rope_dim, 2, dtype=torch.float64) / rope_dim))
    freqs = torch.outer(torch.arange(seq, dtype=torch.float64), inv)
    return freqs.cos().to(dtype), freqs.sin().to(dtype)


def rotate_pairs(x, cos, sin):
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack([a * cos - b * sin, b * cos + a * sin], dim=-1).flatten(-2)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, nh = c["hidden_size"], c["num_attention_heads"]
        self.nh, self.hd = nh, H // nh
        self.q_proj = nn.Linear(H, H, bias=False)
        self.k_proj = nn.Linear(H, H, bias=False)
        self.v_proj = nn.Linear(H, H, bias=False)
        self.o_proj = nn.Linear(H, H, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, H = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        att = att.softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, H)
        return self.o_proj(y)


class LatentAttention(nn.Module):
    """Multi-head latent attention without the q low-rank path (q_lora_rank null)."""

    def __init__(self, c):
        super().__init__()
        H, nh = c["hidden_size"], c["num_attention_heads"]
        self.nh, self.nope, self.rope = nh, c["qk_nope_head_dim"], c["qk_rope_head_dim"]
        self.vd, self.lora = c["v_head_dim"], c["kv_lora_rank"]
        self.q_proj = nn.Linear(H, nh * (self.nope + self.rope), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(H, self.lora + self.rope, bias=False)
        self.kv_a_layernorm = RMSNorm(self.lora, c["rms_norm_eps"])
        self.kv_b_proj = nn.Linear(self.lora, nh * (self.nope + self.vd), bias=False)
        self.o_proj = nn.Linear(nh * self.vd, H, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.nope + self.rope).transpose(1, 2)
        compressed = self.kv_a_proj_with_mqa(x)
        kv = self.kv_b_proj(self.kv_a_layernorm(compressed[..., :self.lora]))
        kv = kv.view(B, T, self.nh, self.nope + self.vd).transpose(1, 2)
        k_pe = rotate_pairs(compressed[..., self.lora:], cos, sin).unsqueeze(1)  # [B, 1, T, rope]
        q = torch.cat([q[..., :self.nope], rotate_pairs(q[..., self.nope:], cos, sin)], -1)
        k = torch.cat([kv[..., :self.nope], k_pe.expand(B, self.nh, T, self.rope)], -1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.nope + self.rope) + mask
        y = (att.softmax(-1) @ kv[..., self.nope:]).transpose(1, 2).reshape(B, T, self.nh * self.vd)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, H, I):
        super().__init__()
        self.gate_proj = nn.Linear(H, I, bias=False)
        self.up_proj = nn.Linear(H, I, bias=False)
        self.down_proj = nn.Linear(I, H, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class MoE(nn.Module):
    """Routed experts stored stacked: gate/up [E, w, H], down [E, H, w]."""

    def __init__(self, c):
        super().__init__()
        H, E, w = c["hidden_size"], c["n_routed_experts"], c["moe_intermediate_size"]
        self.E, self.k, self.norm_topk = E, c["num_experts_per_tok"], c["norm_topk_prob"]
        self.sigmoid = c.get("scoring_func") == "sigmoid"
        self.scaling = c.get("routed_scaling_factor", 1.0)
        self.gate = nn.Linear(H, E, bias=False)  # [E, H]
        if self.sigmoid:
            self.gate.register_buffer("e_score_correction_bias", torch.zeros(E))
        self.select_without_bias = False  # evaluation: let the raw scores select (moescope's switch)
        std = 0.02
        self.w_gate = nn.Parameter(torch.randn(E, w, H) * std)
        self.w_up = nn.Parameter(torch.randn(E, w, H) * std)
        self.w_down = nn.Parameter(torch.randn(E, H, w) * std)
        ns = c["n_shared_experts"] or 0
        self.shared_experts = MLP(H, w * ns) if ns > 0 else None

    def forward(self, x, stats=None):
        shp = x.shape
        x = x.reshape(-1, shp[-1])  # [N, H]
        N = x.shape[0]
        logits = self.gate(x)  # [N, E]
        if logits.dtype in (torch.float16, torch.bfloat16):
            logits = logits.float()
        if self.sigmoid:
            scores = logits.sigmoid()  # [N, E]
            ranked = scores if self.select_without_bias else scores + self.gate.e_score_correction_bias
            topi = ranked.topk(self.k, dim=-1).indices
            topw = scores.gather(-1, topi)
        else:
            scores = logits.softmax(-1)  # [N, E]
            topw, topi = scores.topk(self.k, dim=-1)  # [N, k]
        if self.norm_topk:
            topw = topw / (topw.sum(-1, keepdim=True) + 1e-20)
        topw = topw * self.scaling
        flat_e = topi.reshape(-1)
        order = flat_e.argsort()
        tok = order // self.k  # token index of each sorted (token, slot) pair
        counts = torch.bincount(flat_e, minlength=self.E)
        xs = x[tok]
        ws = topw.reshape(-1)[order].unsqueeze(-1).to(x.dtype)
        # split/unbind (not slicing) so that autograd does not materialise a
        # full-size zero gradient per expert
        wg, wu, wd = self.w_gate.unbind(0), self.w_up.unbind(0), self.w_down.unbind(0)
        outs = []
        for e, xe in enumerate(xs.split(counts.tolist(), 0)):
            if xe.shape[0] == 0:
                continue
            h = F.silu(xe @ wg[e].t()) * (xe @ wu[e].t())
            outs.append(h @ wd[e].t())
        y = torch.cat(outs, 0) * ws
        out = torch.zeros_like(x).index_add_(0, tok, y)
        if self.shared_experts is not None:
            out = out + self.shared_experts(x)
        # expert-level balance loss (DeepSeekMoE eq. 12-14): f_i = E/(K T) count_i
        f = counts.float() * (self.E / (self.k * N))
        # V3's scores do not sum to 1: P from the normalised scores, as its sequence-wise loss
        P = (scores / scores.sum(-1, keepdim=True) if self.sigmoid else scores).mean(0)
        aux = (f * P).sum()
        if stats is not None:
            stats.append({"ids": topi, "weights": topw, "scores": scores})
        return out.view(shp), aux, counts

    @torch.no_grad()
    def update_bias(self, counts, rate):
        """bias += rate * sign(mean load - load): under-loaded experts become easier to select."""
        c = counts.float()
        self.gate.e_score_correction_bias += rate * torch.sign(c.mean() - c)


class Block(nn.Module):
    def __init__(self, c, i):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = LatentAttention(c) if c["model_type"] == "deepseek_v3" else Attention(c)
        self.is_moe = (c["n_routed_experts"] is not None and i >= c["first_k_dense_replace"]
                       and i % c["moe_layer_freq"] == 0)
        self.mlp = MoE(c) if self.is_moe else MLP(c["hidden_size"], c["intermediate_size"])

    def forward(self, x, cos, sin, mask, stats):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        h = self.post_attention_layernorm(x)
        if self.is_moe:
            y, aux, counts = self.mlp(h, stats)
            return x + y, aux, counts
        return x + self.mlp(h), None, None


class DeepseekLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Block(c, i) for i in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
        # scaled init of residual output projections (GPT-2 style)
        s = 0.02 / math.sqrt(2 * c["num_hidden_layers"])
        for b in self.layers:
            nn.init.normal_(b.self_attn.o_proj.weight, std=s)
            if b.is_moe:
                nn.init.normal_(b.mlp.w_down, std=s)
                if b.mlp.shared_experts is not None:
                    nn.init.normal_(b.mlp.shared_experts.down_proj.weight, std=s)
            else:
                nn.init.normal_(b.mlp.down_proj.weight, std=s)

    def forward(self, idx, stats=None):
        B, T = idx.shape
        x = self.embed_tokens(idx)
        if self.c["model_type"] == "deepseek_v3":
            tables = rope_pairs_cos_sin(T, self.c["qk_rope_head_dim"], self.c["rope_theta"], x.dtype)
        else:
            tables = rope_cos_sin(T, self.c["hidden_size"] // self.c["num_attention_heads"],
                                  self.c["rope_theta"], x.dtype)
        cos, sin = (t.to(x.device) for t in tables)
        mask = torch.full((T, T), float("-inf"), dtype=x.dtype, device=x.device).triu(1)
        auxes, counts = [], []
        for b in self.layers:
            x, aux, cnt = b(x, cos, sin, mask, stats)
            if aux is not None:
                auxes.append(aux); counts.append(cnt)
        logits = self.lm_head(self.norm(x))
        return logits, (torch.stack(auxes).sum() if auxes else x.new_zeros(())), counts


def attention_params(c):
    """Attention weights plus the block's two norms."""
    H = c["hidden_size"]
    if c["model_type"] != "deepseek_v3":
        return 4 * H * H + 2 * H
    nh, nope, rope, vd, lora = (c["num_attention_heads"], c["qk_nope_head_dim"], c["qk_rope_head_dim"],
                                c["v_head_dim"], c["kv_lora_rank"])
    return (H * nh * (nope + rope) + H * (lora + rope) + lora + lora * nh * (nope + vd)
            + nh * vd * H + 2 * H)


def count_params(c):
    """Trainable parameters (V3's selection bias is a buffer, not counted)."""
    H, V, L, I = c["hidden_size"], c["vocab_size"], c["num_hidden_layers"], c["intermediate_size"]
    E, w, k, ns = c["n_routed_experts"], c["moe_intermediate_size"], c["num_experts_per_tok"], c["n_shared_experts"] or 0
    attn = attention_params(c)
    n_dense = c["first_k_dense_replace"]
    dense = attn + 3 * H * I
    expert = 3 * H * w
    moe_total = attn + E * H + E * expert + ns * expert
    moe_active = attn + E * H + k * expert + ns * expert
    emb = 2 * V * H + H
    total = emb + n_dense * dense + (L - n_dense) * moe_total
    active = emb + n_dense * dense + (L - n_dense) * moe_active
    return {"total": total, "active": active, "total_no_emb": total - emb,
            "active_no_emb": active - emb, "routed_expert_params_per_layer": E * expert,
            "active_expert_params_per_layer": (k + ns) * expert}


# ---------------------------------------------------------------- HF export / import
def hf_state_dict(model):
    out = {}
    sd = model.state_dict()
    c = model.c
    for k, v in sd.items():
        if ".mlp.w_" in k:
            continue
        name = k if k == "lm_head.weight" else "model." + k
        out[name] = v
    for i, b in enumerate(model.layers):
        if b.is_moe:
            for e in range(c["n_routed_experts"]):
                p = f"model.layers.{i}.mlp.experts.{e}."
                out[p + "gate_proj.weight"] = b.mlp.w_gate[e]
                out[p + "up_proj.weight"] = b.mlp.w_up[e]
                out[p + "down_proj.weight"] = b.mlp.w_down[e]
    return {k: v.detach().float().cpu().contiguous() for k, v in out.items()}


def load_hf_into(model, tensors):
    c = model.c
    sd = {}
    for k, v in tensors.items():
        if ".mlp.experts." in k:
            continue
        sd[k if k == "lm_head.weight" else k[len("model."):]] = torch.from_numpy(np.asarray(v))
    for i, b in enumerate(model.layers):
        if b.is_moe:
            for nm, key in (("w_gate", "gate_proj"), ("w_up", "up_proj"), ("w_down", "down_proj")):
                sd[f"layers.{i}.mlp.{nm}"] = torch.stack([torch.from_numpy(np.asarray(
                    tensors[f"model.layers.{i}.mlp.experts.{e}.{key}.weight"]))
                    for e in range(c["n_routed_experts"])])
    missing, unexpected = model.load_state_dict(sd, strict=True), None
    return model


def write_safetensors(path, tensors, dtype="F16"):
    """Every tensor in `dtype`, except V3's selection biases, kept in F32 as DeepSeek's
    checkpoints keep them (a step of the bias update is 1e-3, near f16's resolution)."""
    np_dts = {"F16": "<f2", "F32": "<f4"}
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        dt = "F32" if name.endswith("e_score_correction_bias") else dtype
        a = np.ascontiguousarray(tensors[name].numpy().astype(np_dts[dt]))
        b = a.tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    header["__metadata__"] = {"format": "pt"}
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    # Atomic: a reader that has the previous file mapped (the app, the CLI)
    # keeps it intact instead of faulting on a file rewritten in place.
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(hj))); f.write(hj)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def read_safetensors(path, dtype=np.float64):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        np_dt = {"F16": "<f2", "F32": "<f4", "F64": "<f8"}[v["dtype"]]
        out[k] = np.frombuffer(raw[base + a:base + b], dtype=np_dt).reshape(v["shape"]).astype(dtype)
    return out


def load_hf_model(model_dir, dtype=torch.float64):
    c = json.load(open(os.path.join(model_dir, "config.json")))
    m = DeepseekLM(c)
    load_hf_into(m, read_safetensors(os.path.join(model_dir, "model.safetensors"), np.float32))
    return m.to(dtype).eval(), c


# ---------------------------------------------------------------- tokenizer
class Spm:
    """The sentencepiece library (Debian python3-sentencepiece, the same version
    as the engine's libsentencepiece), encoding whole documents as the engine does."""

    def __init__(self, model_path):
        import sentencepiece
        self.sp = sentencepiece.SentencePieceProcessor(model_file=model_path)
        self.pieces = [self.sp.id_to_piece(i) for i in range(self.sp.get_piece_size())]

    def encode_docs(self, docs):
        return self.sp.encode(list(docs))

    def decode(self, ids):
        return self.sp.decode(list(ids))


def read_docs(path):
    t = open(path, encoding="utf-8").read()
    if t.endswith("\n"):
        t = t[:-1]
    return t.split("\n\x1e\n")
