"""common.amp: the toolboxes' AMP settings on a GPU, mmengine's AmpOptimWrapper in bfloat16 on the CPU."""

import pytest
import torch

from common.amp import CpuAmpOptimWrapper, amp_dtype, amp_optim_wrapper, amp_wrapper_config


def test_on_a_gpu_amp_is_what_the_toolboxes_amp_flag_sets():
    assert amp_wrapper_config(cuda=True) == {"type": "AmpOptimWrapper", "loss_scale": "dynamic"}
    assert amp_wrapper_config(cuda=False) == {"type": "CpuAmpOptimWrapper", "dtype": "bfloat16"}
    assert (amp_dtype(cuda=True), amp_dtype(cuda=False)) == ("float16", "bfloat16")


def test_the_cpu_wrapper_autocasts_to_bfloat16_and_steps_without_scaling():
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    wrapper = amp_optim_wrapper(torch.optim.SGD(net.parameters(), lr=0.1), cuda=False)
    assert isinstance(wrapper, CpuAmpOptimWrapper)
    before = net.weight.detach().clone()
    with wrapper.optim_context(net):
        out = net(torch.randn(5, 4))
    assert out.dtype == torch.bfloat16
    loss = out.float().pow(2).mean()
    assert wrapper.loss_scaler.scale(loss) is loss  # no loss scaling in bfloat16
    wrapper.update_params(loss)
    assert net.weight.dtype == torch.float32 and not torch.equal(net.weight, before)


def test_the_cpu_wrapper_refuses_float16():
    net = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="bfloat16 only"):
        CpuAmpOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1), dtype="float16")
