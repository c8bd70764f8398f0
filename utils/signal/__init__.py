"""Pure signal processing for DeepClean (import name ``deepclean.utils.signal``).

Contract: functions of arrays only (numpy or torch), no I/O, no clock. Sample rates in Hz,
durations in seconds, bands as ``(low, high)`` pairs in Hz.

- ``filters``: Butterworth band-pass (order 8, second-order sections, zero phase), the
  target filter of training and the noise filter of cleaning;
- ``psd``: Welch PSD in torch (Hann window), for the loss;
- ``welch``: Welch PSD and ASD in numpy (scipy), the one estimate every numpy caller uses;
- ``loss``: the DeepClean loss, mean over the band of sqrt(PSD(y - y_hat) / PSD(y)),
  optionally mixed with MSE;
- ``postprocess``: band-pass the averaged noise (with padding) and subtract it;
- ``asd_ratios``: ASD ratios (cleaned/raw, cleaned/background) inside and outside bands;
- ``snr``: noise-weighted inner products, optimal and complex matched-filter SNR, mismatch.
"""
