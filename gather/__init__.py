"""Stage 3: gather stage-1 exports and stage-2 results into the DaR paper's tables (T2-T8).

  gather.collect  find and parse results.json / backbone.json (the only file reading)
  gather.stats    mean ± sample std, paired Δ over seeds, Student-t 95% intervals (pure)
  gather.tables   table specs (metric scales in one place), construction: rows, columns, Δ rows
  gather.render   the built tables as md / csv / tex text
  gather.plots    Δ figures and pretraining curves (matplotlib Agg, atomic PNGs)
Entry points: `gather.render.render_all(results_dir, baseline="iid", fmt="md")`, or
`tools/gather.py RESULTS_DIR [--baseline iid] [--format md|csv|tex] [--out F] [--plots DIR]`.
"""
