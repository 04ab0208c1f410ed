// Package deploy checks the deployment files: the SAM template and the
// state machine definitions, which are the workflow on AWS and locally.
package deploy
