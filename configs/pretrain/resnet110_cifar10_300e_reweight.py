# The DaR paper's discussion baseline: hard-example re-weighting, all samples kept, each
# sample's loss weighted by its previous-epoch loss (weights normalized to mean 1).
_base_ = "./resnet110_cifar10_300e_iid.py"
arm = dict(name="reweight", power=1.0)
