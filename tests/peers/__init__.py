"""Local stand-ins for the platforms Drumbeat talks to, speaking their real protocols over
HTTP on 127.0.0.1: tests and benchmarks point the real SDK clients at them."""
