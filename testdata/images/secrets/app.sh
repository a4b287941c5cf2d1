#!/bin/sh
# The demo app of the secrets fixture: it only prints where it would connect.
echo "connecting to ${DB_HOST:-db}"
