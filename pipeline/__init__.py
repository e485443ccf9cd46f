"""The end-to-end pipeline: experiment configs → pretrain → export → transfer → report."""
