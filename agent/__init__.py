"""Agents: the interface every agent offers and what every kind shares (the episode loop, run
directories and metrics, atomic files, the CLI vocabulary), with one package per method:
``neat`` (evolved recurrent networks), ``rnn`` (backprop-trained LSTM/GRU/RNN) and ``study``
(comparisons)."""
