wrk.method = "GET"
wrk.headers["X-Amz-Date"] = "20261129T222438Z"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20261129/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=dc2f30e95ce0281d557f9138dd7f585d93d768494fe72e8243a138e9837535d3"
