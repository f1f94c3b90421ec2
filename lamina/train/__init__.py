"""Training: `lamina train NAME --stage S` runs a registered Trainable's stage (trainable.py); the shared loop
(loop.py: TrainTask, TrainConfig) trains the loop-based codecs and the face prior."""
