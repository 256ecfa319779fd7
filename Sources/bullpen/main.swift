print("bullpen")
