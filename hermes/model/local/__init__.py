"""The in-process llama.cpp backend: client, runtime, chat template, call grammar, steering, model files, doctor."""
