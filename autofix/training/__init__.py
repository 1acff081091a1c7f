"""How a model trains inside autofix.

``training_setup`` (the user's optimizer, loss, learning rate, epochs and batch size),
``fit`` (one training run: Keras' ``fit`` with autofix's watch, early stopping and
predictions), ``compiled`` and ``stacked`` (faster programs for the same run),
``train_log`` (what a run did; the stuck checks), ``lr_finder`` (a learning-rate range test).
"""
