"""`trainer sweep`: hyperparameter search on Optuna, each trial an ordinary run directory.

spec: the sweep file and its search space, validated before any trial starts.
study: the Optuna study (storage, sampler, pruner). claims: which trial a worker runs next.
trial: one trial as a fit of the base experiment. worker: the loop over trials.
report: the status table, plots and the best trial's experiment file."""
