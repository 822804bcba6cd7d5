// sdk-go-v2-check resolves credentials for the profile named by AWS_PROFILE with the
// AWS SDK for Go v2 (Debian's golang-github-aws-aws-sdk-go-v2-dev, v1.17: the SDK of
// Terraform's AWS provider), calls STS GetCallerIdentity and prints the Arn on stdout.
// On failure it prints the error on stderr and exits 1.
//
// That SDK version predates AWS_ENDPOINT_URL, so this program reads
// AWS_ENDPOINT_URL_<SERVICE> (e.g. AWS_ENDPOINT_URL_STS) or AWS_ENDPOINT_URL itself and
// hands it to the SDK as an endpoint resolver. The config's resolver is also used by the
// STS client the SDK builds for a role profile's AssumeRole, so the role chain goes to
// the same endpoint.
//
// It also retries a call whose response Go's HTTP client closed under it ("use of closed
// network connection"), as the SDK itself does since January 2025 (aws/aws-sdk-go-v2
// #2949, fixing #2737): this older SDK fails such a call now and then (a few in a
// hundred fresh runs on a loaded machine, AssumeRole or GetCallerIdentity, with
// aws-mfa-proc or a one-line shell script as the credential_process), and the SDK of
// Terraform's current provider retries it.
//
// Build offline (no modules, Debian's GOPATH):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= CGO_ENABLED=0 go build -o OUT .
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// endpointFor returns AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL, "" if neither is set.
func endpointFor(service string) string {
	key := strings.ToUpper(strings.NewReplacer(" ", "_", "-", "_").Replace(service))
	if v := os.Getenv("AWS_ENDPOINT_URL_" + key); v != "" {
		return v
	}
	return os.Getenv("AWS_ENDPOINT_URL")
}

// closedConnection marks an error from a connection closed under the response as
// retryable, as the SDK's default retryables do since #2949.
var closedConnection = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	if errors.Is(err, net.ErrClosed) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
})

// retryer is the SDK's standard retryer with closedConnection added. The config hands it
// to every client, also the STS client of a role profile's AssumeRole.
func retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Retryables = append(append([]retry.IsErrorRetryable{}, o.Retryables...), closedConnection)
	})
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	resolver := aws.EndpointResolverWithOptionsFunc(
		func(service, region string, _ ...interface{}) (aws.Endpoint, error) {
			if url := endpointFor(service); url != "" {
				return aws.Endpoint{URL: url, SigningRegion: region, HostnameImmutable: true}, nil
			}
			// Fall back to the SDK's own endpoints.
			return aws.Endpoint{}, &aws.EndpointNotFoundError{}
		})

	// config.LoadDefaultConfig reads AWS_PROFILE, AWS_CONFIG_FILE, AWS_REGION itself.
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithEndpointResolverWithOptions(resolver),
		config.WithRetryer(retryer))
	if err != nil {
		fmt.Fprintf(os.Stderr, "sdk-go-v2-check: load config: %v\n", err)
		os.Exit(1)
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "sdk-go-v2-check: GetCallerIdentity: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(aws.ToString(out.Arn))
}
