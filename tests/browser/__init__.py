"""The example BMS driven in headless Chromium."""
