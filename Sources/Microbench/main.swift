print("microbench")
