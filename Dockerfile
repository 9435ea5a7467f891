# The same setup as `make venv`, for users who want a container:
#   docker build -t dataflow-accel . && docker run --rm -v $PWD/build:/app/build dataflow-accel make build
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends g++ make tcl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements/ requirements/
COPY Makefile ./
RUN make venv
COPY . .
CMD ["make", "build"]
