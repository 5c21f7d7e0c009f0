from conftest import CONFIGS, TINY_MNIST, sets


def test_fit_runs(cli, workdir):
    result = cli("fit", CONFIGS / "mnist.yaml", *sets(*TINY_MNIST))
    assert result.exit_code == 0, result.output
    assert (workdir / "runs/mnist_mlp/status.json").is_file()
