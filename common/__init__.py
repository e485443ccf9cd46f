"""The shared layer: what crosses stages, defined once.

  vocab.py        the shared words: arm names, task → metric family, metric names, file names,
                  format tags
  backbone.py     the stage 1 → 2 contract: an exported backbone (weights + metadata), its
                  writer and reader
  results.py      the stage 2 → 3 contract: results.json, its schema and validator
  files.py        atomic writes (a crash never leaves a half-written file)
  provenance.py   config hashes and package versions recorded with every artifact
  distributed.py  the CPU (gloo) process group both stages start under torchrun
  amp.py          mixed precision: the toolboxes' AmpOptimWrapper on GPU, its bfloat16 CPU twin
  shapes.py       the polygons of the embedded synthetic data, drawn by both stages' demo data

Import direction (tests/test_layers.py enforces it): `common` imports no project package;
`pretrain`, `transfer` and `gather` import only `common` (never each other); `pipeline`
composes them; `tools/` is wiring.
"""
