"""Stage 1: pretrain classification backbones with i.i.d. sampling or Drop-and-Refresh."""
