print("ispo-cluster")
