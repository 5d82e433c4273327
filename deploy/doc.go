// Package deploy holds Latch's packaging (Dockerfile, Kubernetes manifests)
// and the test that checks it, and docker-compose.yml, without Docker or a cluster.
package deploy
