#!/usr/bin/env ruby
# frozen_string_literal: true

# sdk-ruby-check: resolves credentials for the profile named by AWS_PROFILE with the AWS
# SDK for Ruby (Debian's ruby-aws-sdk-core, 3.168, which bundles STS), calls STS
# GetCallerIdentity and prints the Arn on stdout. On failure it prints the error on
# stderr and exits 1.
#
# That SDK version predates AWS_ENDPOINT_URL: AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL
# is handed to it through Aws.config[:sts], which every STS client takes, including the
# one the SDK builds for a role profile's AssumeRole, so the role chain goes there too.
#
#   AWS_PROFILE=production AWS_ENDPOINT_URL=http://127.0.0.1:PORT ruby sdk-ruby-check.rb

require 'aws-sdk-core' # also loads Aws::STS

begin
  endpoint = [ENV['AWS_ENDPOINT_URL_STS'], ENV['AWS_ENDPOINT_URL']].find { |v| v && !v.empty? }
  Aws.config[:sts] = { endpoint: endpoint } if endpoint

  # The client reads AWS_PROFILE, AWS_CONFIG_FILE, AWS_REGION / the profile's region and
  # resolves the credentials (role chain included) itself.
  arn = Aws::STS::Client.new.get_caller_identity.arn
  puts arn
rescue StandardError, ScriptError => e
  warn "sdk-ruby-check: #{e.class}: #{e.message}"
  exit 1
end
