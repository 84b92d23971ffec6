wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = "{\"text\": \"driver never arrived and I was still charged twice for the same ride please refund me driver never arrived and I was still charged twice for the same ride please refund me driver never arrived and I was still charged twice for the same ride please refund me driver never arrived and I was still charged twice for the same ride please refund me\", \"top_k\": 3}"
