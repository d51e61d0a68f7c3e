"""Tooling shared by the tests and the benchmarks: real processes started the Procfile way
(processes.py) and throwaway databases (databases.py). Never imported by the application."""
