module github.com/latchid/latch/deploy

go 1.26.8

toolchain go1.27.3

require gopkg.in/yaml.v3 v3.0.1
