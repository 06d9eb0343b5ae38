"""Test and benchmark support that ships with the project; hermes itself never imports it."""
