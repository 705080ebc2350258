"""Writes the demo's synthetic training data and model, deterministically.

dataset/   JSONL shards of made-up support tickets, and a datasheet
hub/       a Hugging Face cache: models--acme--support-assistant-de with
           blobs/<sha256>, snapshots/rev-1/<file> -> ../../blobs/<sha256>
           and refs/main, as huggingface_hub lays it out
"""
import hashlib
import json
import os
import sys

root = sys.argv[1]


def stream(seed: str, n: int) -> bytes:
    """n pseudo-random bytes derived from seed (SHA-256 in counter mode)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


def write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


topics = ["invoice", "delivery", "password reset", "refund", "contract", "router"]
for split, shards, lines in (("train", 4, 2000), ("validation", 1, 400)):
    for s in range(shards):
        rows = []
        for i in range(lines):
            t = topics[(s * lines + i) % len(topics)]
            rows.append(json.dumps({
                "id": f"{split}-{s}-{i}",
                "ticket": f"Kunde fragt nach {t} (Vorgang {s * lines + i}).",
                "reply": f"Vielen Dank für Ihre Nachricht zum Thema {t}.",
            }, ensure_ascii=False))
        write(f"{root}/dataset/{split}/part-{s:04d}.jsonl", ("\n".join(rows) + "\n").encode())
write(f"{root}/dataset/DATASHEET.md", b"# support-tickets-de (synthetic demo data)\n")

repo = f"{root}/hub/models--acme--support-assistant-de"
files = {
    "adapter_model.safetensors": stream("weights", 8 << 20),
    "adapter_config.json": json.dumps({"r": 16, "lora_alpha": 32, "base_model": "acme/base-8b"}).encode(),
    "tokenizer.json": json.dumps({"version": "1.0", "model": {"type": "BPE"}}).encode(),
}
for name, data in files.items():
    blob = hashlib.sha256(data).hexdigest()
    write(f"{repo}/blobs/{blob}", data)
    link = f"{repo}/snapshots/rev-1/{name}"
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(f"../../blobs/{blob}", link)
write(f"{repo}/refs/main", b"rev-1")
print(f"demo data in {root}: dataset/ ({4 + 1} shards), hub/ (3 files, snapshot rev-1)")
