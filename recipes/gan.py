"""`recipe: gan`: the Keras guide's GAN ("Customizing what happens in fit()").

Each step trains the discriminator on generated (label 1) and real (label 0) images with
noisy labels, then the generator to make the discriminator say "real"; it logs `d_loss` and
`g_loss`. The latent noise comes from the recipe's own torch.Generator, checkpointed in
`state_dict`, so a resumed run draws exactly the noise it would have drawn. At each epoch end
a grid of digits generated from fixed latent points is written to `samples/epoch_NNN.png`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from trainer.engine.callbacks import Callback
from trainer.engine.errors import ConfigError

from trainer.engine.recipe import Recipe
from .png import image_grid, write_png


class GAN(Recipe):
    model_names = ("discriminator", "generator")
    optimizer_names = ("discriminator", "generator")

    def __init__(self, models, optimizers, loss=None, metrics=None, label_noise: float = 0.05,
                 samples: int = 16):
        super().__init__(models, optimizers, loss, metrics)
        if loss is None:
            raise ConfigError("the gan recipe needs a loss for the discriminator's output (the "
                              "Keras guide: {type: BinaryCrossentropy, from_logits: true})",
                              "compile.loss")
        if label_noise < 0:
            raise ConfigError(f"label_noise must be >= 0, got {label_noise}", "recipe.label_noise")
        if samples < 0:
            raise ConfigError(f"samples must be >= 0, got {samples}", "recipe.samples")
        latent_shapes = list(self.generator.input_shapes.values())
        if len(latent_shapes) != 1 or None in latent_shapes[0]:
            raise ConfigError("the generator needs one input of fixed shape (the latent vector)",
                              "models.generator.inputs")
        self.latent_shape = tuple(latent_shapes[0])
        self.label_noise = label_noise
        # Seeded from the global RNG, which the run's seed fixed before the recipe was built.
        self.noise = torch.Generator(device=self.device)
        self.noise.manual_seed(int(torch.randint(0, 2**62, ())))
        self.sample_latents = self.latent(samples)
        self.d_loss = self.tracker("d_loss")
        self.g_loss = self.tracker("g_loss")

    # Read through the dict: under torchrun the loop swaps in DDP wrappers after __init__.
    @property
    def discriminator(self) -> nn.Module:
        return self.models["discriminator"]

    @property
    def generator(self) -> nn.Module:
        return self.models["generator"]

    def latent(self, n: int) -> torch.Tensor:
        return torch.randn((n, *self.latent_shape), generator=self.noise, device=self.device)

    def train_step(self, batch: Any) -> Mapping[str, torch.Tensor]:
        real = batch.x
        n = real.shape[0]
        with torch.no_grad():  # no graph, and no DDP gradient sync expected for it
            generated = self.generator(self.latent(n))
        labels = torch.cat([torch.ones(n, 1, device=self.device),
                            torch.zeros(n, 1, device=self.device)])
        labels = labels + self.label_noise * torch.rand(labels.shape, generator=self.noise,
                                                        device=self.device)
        d_loss, _ = self.loss(labels, self.discriminator(torch.cat([generated, real])))
        self.minimize(d_loss, self.optimizers["discriminator"])

        # Only the generator is updated; the discriminator's gradients from this backward are
        # cleared by its optimizer before its next update.
        misleading_labels = torch.zeros(n, 1, device=self.device)
        predictions = self.discriminator(self.generator(self.latent(n)))
        g_loss, _ = self.loss(misleading_labels, predictions)
        self.minimize(g_loss, self.optimizers["generator"])

        self.d_loss.update_state(d_loss)
        self.g_loss.update_state(g_loss)
        return self.tracker_logs()

    @torch.no_grad()
    def sample_images(self) -> torch.Tensor:
        """Images generated from the fixed sample latents, on the CPU."""
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.generator(self.sample_latents).float().cpu()
        finally:
            self.generator.train(was_training)

    def callbacks(self) -> list[Callback]:
        return [SampleGrid(self)] if len(self.sample_latents) else []

    def state_dict(self) -> dict[str, Any]:
        return {"noise": self.noise.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.noise.set_state(state["noise"])


class SampleGrid(Callback):
    """Writes the GAN's sample images as `samples/epoch_NNN.png` in the run dir each epoch."""

    def __init__(self, gan: GAN):
        self.gan = gan

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if not self.loop.is_main:
            return
        images = self.gan.sample_images().numpy()
        write_png(self.loop.run_dir.path / "samples" / f"epoch_{epoch + 1:03d}.png",
                  image_grid(images))

