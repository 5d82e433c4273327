module github.com/latchid/latch/services/tasks

go 1.26.8
