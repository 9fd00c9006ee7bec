# MobileNetV2 on oneDNN
