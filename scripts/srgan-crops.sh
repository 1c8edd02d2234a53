#!/usr/bin/env bash
# Crops of HR | SRResNet | SRGAN for docs/: Set14's baboon and a photograph from ../shared/samples,
# each shrunk x4 by MATLAB's bicubic and upscaled back by both models (what `sr eval` does), with
# PSNR/SSIM against HR and NIQE on the Y channel, 4 pixels of border left out.
#
#   scripts/srgan-crops.sh SRRESNET SRGAN [OUT_DIR]
#
# SRRESNET and SRGAN are anything `--model` takes (a shipped name or a checkpoint folder); the grids
# go to OUT_DIR (default docs/) as srgan-baboon.png and srgan-chelsea.png.
set -euo pipefail

srresnet=${1:?usage: scripts/srgan-crops.sh SRRESNET SRGAN [OUT_DIR]}
srgan=${2:?usage: scripts/srgan-crops.sh SRRESNET SRGAN [OUT_DIR]}
out=${3:-docs}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SR_SHARED:-$root/../shared}
sr() { node "$root/bin/sr" "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/hr" "$out"
cp "$shared/datasets/Set14/baboon.png" "$work/hr/baboon.png"
# chelsea is 451 pixels wide: cut to a multiple of 4, as `sr eval` does before it shrinks.
node -e "require('sharp')(process.argv[1]).extract({left: 0, top: 0, width: 448, height: 300}).toFile(process.argv[2])" \
  "$shared/samples/chelsea.png" "$work/hr/chelsea.png"

for model in srresnet srgan; do
  sr eval --dataset "$work/hr" --model "${!model}" --scale 4 --save-images "$work/$model" --json >/dev/null
done

# Fur: the baboon's cheek and the cat's side, where a grid or speckle shows first.
grid() {
  sr compare "$work/hr/$1.png" "$work/srresnet/$1.png" "$work/srgan/$1.png" --labels HR,SRResNet,SRGAN \
    --crop "$2" --zoom 3 --border 4 --metrics psnr,ssim,niqe -o "$out/srgan-$1.png" --json
}
grid baboon 0,330,120,120
grid chelsea 40,120,120,120
