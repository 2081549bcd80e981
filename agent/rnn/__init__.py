"""Recurrent policies trained by backpropagation through time: the model (LSTM, GRU, vanilla
RNN), recurrent PPO, behaviour cloning with DAgger, demonstrations, and the policy as an agent.
torch is imported here only."""
