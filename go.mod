module github.com/winlayer/winlayer

go 1.26.8

require (
	github.com/docker/go-units v0.5.0
	github.com/spf13/cobra v1.10.2
	github.com/vbatts/tar-split v0.12.3
	golang.org/x/sys v0.49.0
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
)
