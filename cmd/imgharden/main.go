// Command imgharden hardens container images and gates them in build pipelines.
package main

func main() {}
