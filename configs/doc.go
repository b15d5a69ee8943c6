// Package configs holds the deployment files (duet.yaml, duet.service) and, in its tests, the checks
// that they and scripts/install.sh are valid and agree with each other. It has no Go code of its own.
package configs
