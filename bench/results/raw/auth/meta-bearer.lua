wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer bench--pbvgVGtUqJ2Bmr9XpdPDBrultyjPaDH"
