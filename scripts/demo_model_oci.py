"""Stands in for the ML team's model registry in make demo: writes the
released weights as an OCI artifact (image manifest, empty config, one layer
per file with its org.opencontainers.image.title) into a fresh OCI image
layout, tagged TAG and annotated kind=dev.cosignproject.cosign/image, as
`cosign save` marks an image, so that `cosign verify-attestation
--local-image DIR` finds it. Dossier itself never moves weights: it only
attaches the verification summary (dossier vsa attach). Deterministic: the
same files give the same manifest digest.
Usage: demo_model_oci.py LAYOUT-DIR TAG FILE..."""
import hashlib
import json
import os
import sys

layout, tag, files = sys.argv[1], sys.argv[2], sys.argv[3:]
blobs = os.path.join(layout, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)


def put(data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, h), "wb") as f:
        f.write(data)
    return "sha256:" + h, len(data)


cd, cs = put(b"{}")
layers = []
for path in files:
    with open(path, "rb") as f:
        d, n = put(f.read())
    layers.append({"mediaType": "application/octet-stream", "digest": d, "size": n,
                   "annotations": {"org.opencontainers.image.title": os.path.basename(path)}})
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.acme.model.weights.v1",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": cd, "size": cs},
            "layers": layers,
            "annotations": {"org.opencontainers.image.title": "acme/support-assistant-de " + tag}}
md, ms = put(json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode())
with open(os.path.join(layout, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
                        "artifactType": manifest["artifactType"],
                        "annotations": {"org.opencontainers.image.ref.name": tag,
                                        "kind": "dev.cosignproject.cosign/image"}}]}
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump(index, f, indent=2)
print(f"{md} {layout}:{tag} ({len(layers)} layer(s))")
