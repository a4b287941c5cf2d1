module github.com/imgharden/imgharden

go 1.26.3
