console.log("txbox CLI: not yet implemented")
