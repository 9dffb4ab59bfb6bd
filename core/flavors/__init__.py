"""One module per model backend; heavy imports (TensorFlow, skops) stay inside functions."""
