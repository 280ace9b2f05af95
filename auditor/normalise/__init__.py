"""Turning what people type into canonical values: text, countries, vocabularies, numbers, dates."""
